"""One typed settings object: flags > environment > lens.toml > defaults."""
from __future__ import annotations

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
    base = config_path.resolve().parent
    lens = config.get("lens", {})
    resolved_data = Path(data_dir or env.get("LENS_DATA_DIR") or lens.get("data_dir") or "data")
    if not resolved_data.is_absolute() and not data_dir and not env.get("LENS_DATA_DIR") and lens.get("data_dir"):
        resolved_data = base / resolved_data
    identity_table = config.get("identity", {})
    identity = env.get("LENS_IDENTITY_FILE") or identity_table.get("file")
    if not identity and "developers" in identity_table:
        identity = str(config_path)  # the mapping is written in lens.toml itself
    identity_path = Path(identity) if identity else None
    if identity_path is not None and not identity_path.is_absolute() and config_path.is_file():
        identity_path = base / identity_path
    try:
        return Settings(
            data_dir=resolved_data.resolve(),
            lake_url=env.get("LENS_LAKE_URL") or config.get("lake", {}).get("url") or None,
            identity_file=identity_path,
            project=str(lens.get("project", "default")),
            preview_chars=int(lens.get("preview_chars", 2000)),
            batch_bytes=int(float(lens.get("batch_mb", 32)) * 1024 * 1024),
            write_buffer_bytes=int(float(lens.get("write_buffer_mb", 320)) * 1024 * 1024),
            compact_min_files=int(lens.get("compact_min_files", 8)),
            sources=config.get("sources", {}),
            alerts=config.get("alerts", {}),
            env=env,
            retention_days=int(lens["retention_days"]) if lens.get("retention_days") else None,
            redaction=patterns_from_config(config.get("redaction", {})),
            credentials_file=Path(env.get("LENS_CREDENTIALS_FILE") or CREDENTIALS_FILE),
            secrets_file=Path(env.get("LENS_SECRETS_FILE") or SECRETS_FILE),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{config_path}: bad value in [lens]: {exc}") from exc
