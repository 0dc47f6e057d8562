"""One typed settings object: flags > environment > lens.toml > defaults."""
from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError
from .redact import Pattern, patterns_from_config

CONFIG_FILE = "lens.toml"
CREDENTIALS_FILE = ".streamlit/credentials.yaml"
SECRETS_FILE = ".streamlit/secrets.toml"


@dataclass(frozen=True)
class Settings:
    """Where everything lives and how ingest behaves; built once, passed down."""

    data_dir: Path
    lake_url: str | None = None  # s3://bucket/prefix: where readers find the lake (object_store.py)
    identity_file: Path | None = None
    project: str = "default"
    preview_chars: int = 2000
    # Memory: a few batches are in flight (read ahead, two normalizing, one loading) beside the
    # rows held for writing; 32 MB batches and 320 MB held keep a 1M-span load near 1.6 GB.
    batch_bytes: int = 32 * 1024 * 1024
    write_buffer_bytes: int = 320 * 1024 * 1024  # new rows held before they go to files (lake.BUFFER_BYTES)
    max_record_bytes: int = 64 * 1024 * 1024
    compact_min_files: int = 8
    sources: Mapping[str, Any] = field(default_factory=dict)
    alerts: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    retention_days: int | None = None
    redaction: tuple[Pattern, ...] | None = None  # None: every built-in pattern
    credentials_file: Path = Path(CREDENTIALS_FILE)
    secrets_file: Path = Path(SECRETS_FILE)

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def spans_dir(self) -> Path:
        return self.lake_dir / "spans"

    @property
    def deadletter_dir(self) -> Path:
        return self.data_dir / "deadletter"

    @property
    def quarantine_dir(self) -> Path:
        """Where `doctor --fix` moves files the lake cannot read: kept for a look, never deleted."""
        return self.data_dir / "quarantine"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def audit_dir(self) -> Path:
        return self.data_dir / "audit"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "lens.duckdb"

    @property
    def samples_dir(self) -> Path:
        return Path(__file__).resolve().parent.parent / "data" / "samples"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files must be UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from exc


TABLES = ("lens", "lake", "identity", "redaction", "sources", "alerts")
BATCH_MB_RANGE = (1.0, 4096.0)  # below a megabyte a batch is mostly overhead; above, memory runs out first


# The keys each table of lens.toml may hold ([redaction] checks its own): a misspelt one
# (`retention_day`) would otherwise be ignored without a word, and its setting silently off.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset(TABLES),
    "lens": frozenset({"data_dir", "project", "preview_chars", "batch_mb", "write_buffer_mb", "compact_min_files",
                       "retention_days"}),
    "lake": frozenset({"url"}),
    "identity": frozenset({"file", "developers"}),
    "alerts": frozenset({"rules", "webhooks", "retries", "backoff_s", "timeout_s", "cooldown_minutes"}),
    "sources": frozenset({"phoenix", "arize"}),
    "sources.phoenix": frozenset({"url", "db", "project", "projects", "timeout_s", "retries"}),
    "sources.arize": frozenset({"space_id", "project", "projects", "flight_host", "flight_port", "flight_scheme", "chunk",
                                "lookback_days", "workers", "follow_every"}),
}


def _check_keys(values: Mapping[str, Any], name: str, path: Path) -> None:
    """One line for the first key lens.toml does not know, with the likeliest one meant."""
    known = KNOWN_KEYS[name]
    for key in values:
        if key not in known:
            guess = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {guess[0]}?" if guess else f"known: {', '.join(sorted(known))}"
            where = f"[{name}] key {key}" if name else f"table [{key}]"
            raise ConfigError(f"{path}: unknown {where} ({hint})")


def _check_all_keys(config: Mapping[str, Any], path: Path) -> None:
    _check_keys(config, "", path)
    for name in ("lens", "lake", "identity", "alerts", "sources"):
        if isinstance(config.get(name), Mapping):
            _check_keys(config[name], name, path)
    for source in ("phoenix", "arize"):
        entries = config.get("sources", {}).get(source, []) if isinstance(config.get("sources"), Mapping) else []
        for entry in [entries] if isinstance(entries, Mapping) else entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping):
                _check_keys(entry, f"sources.{source}", path)


def _tables(config: Mapping[str, Any], path: Path) -> dict[str, Mapping[str, Any]]:
    """Each known top-level table, checked to be a table: `lens = 5` is a mistake, not a crash."""
    tables: dict[str, Mapping[str, Any]] = {}
    for name in TABLES:
        value = config.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: [{name}] must be a table (e.g. `[{name}]` on its own line), "
                              f"not {type(value).__name__} {value!r}")
        tables[name] = value
    return tables


class _Table:
    """One table of lens.toml with typed getters whose errors name the file, table and key."""

    def __init__(self, values: Mapping[str, Any], path: Path, name: str) -> None:
        self.values, self.path, self.name = values, path, name

    def _fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{self.name}] {key} must be {expected}, not {self.values[key]!r}")

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string")
        return value or None

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"a whole number of at least {minimum}")
        return value

    def optional_integer(self, key: str, minimum: int) -> int | None:
        return self.integer(key, minimum, minimum) if key in self.values else None

    def megabytes(self, key: str, default: float, low: float, high: float) -> int:
        """A size in MB (a number, fractions allowed) within [low, high], as bytes."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self._fail(key, f"a number of megabytes from {low:g} to {high:g}")
        return int(value * 1024 * 1024)


def _check_folder(path: Path, origin: str) -> None:
    """The data dir is a folder, or can become one: a file in its place fails later, far away."""
    for place in (path, *path.absolute().parents):
        if place.is_dir():
            return
        if place.exists():
            what = "it" if place == path else f"{place} in its path"
            raise ConfigError(f"{path}: not a folder ({what} is a file); {origin} must name a folder for the lake")


def _redaction(section: Mapping[str, Any], path: Path) -> tuple[Pattern, ...]:
    """The [redaction] patterns; their errors name lens.toml too."""
    if not isinstance(section.get("custom", []), list):
        raise ConfigError(f"{path}: [redaction] custom must be a list of [[redaction.custom]] tables")
    try:
        return patterns_from_config(section)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings once; modules never read the environment themselves."""
    env = dict(os.environ if env is None else env)
    config_path = Path(config_file or env.get("LENS_CONFIG") or CONFIG_FILE)
    if config_file and not config_path.is_file():
        raise ConfigError(f"{config_path}: config file not found")
    config = _read_toml(config_path) if config_path.is_file() else {}
    tables = _tables(config, config_path)
    _check_all_keys(config, config_path)
    base = config_path.resolve().parent
    lens = _Table(tables["lens"], config_path, "lens")
    resolved_data = Path(data_dir or env.get("LENS_DATA_DIR") or lens.text("data_dir") or "data")
    if not resolved_data.is_absolute() and not data_dir and not env.get("LENS_DATA_DIR") and lens.text("data_dir"):
        resolved_data = base / resolved_data
    origin = "--data-dir" if data_dir else "LENS_DATA_DIR" if env.get("LENS_DATA_DIR") else f"{config_path} [lens] data_dir"
    _check_folder(resolved_data, origin)
    identity_table = tables["identity"]
    identity = env.get("LENS_IDENTITY_FILE") or _Table(identity_table, config_path, "identity").text("file")
    if not identity and "developers" in identity_table:
        identity = str(config_path)  # the mapping is written in lens.toml itself
    identity_path = Path(identity) if identity else None
    if identity_path is not None and not identity_path.is_absolute() and config_path.is_file():
        identity_path = base / identity_path
    return Settings(
        data_dir=resolved_data.resolve(),
        lake_url=env.get("LENS_LAKE_URL") or _Table(tables["lake"], config_path, "lake").text("url"),
        identity_file=identity_path,
        project=lens.text("project") or "default",
        preview_chars=lens.integer("preview_chars", 2000, minimum=0),
        batch_bytes=lens.megabytes("batch_mb", 32, *BATCH_MB_RANGE),
        write_buffer_bytes=lens.megabytes("write_buffer_mb", 320, 0, 1024 * 1024),
        compact_min_files=lens.integer("compact_min_files", 8, minimum=1),
        sources=tables["sources"],
        alerts=tables["alerts"],
        env=env,
        retention_days=lens.optional_integer("retention_days", minimum=1),
        redaction=_redaction(tables["redaction"], config_path),
        credentials_file=Path(env.get("LENS_CREDENTIALS_FILE") or CREDENTIALS_FILE),
        secrets_file=Path(env.get("LENS_SECRETS_FILE") or SECRETS_FILE),
    )
