"""Aliases -> developer -> team: who a span belongs to, from an identity file."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from .errors import ConfigError


@dataclass(frozen=True)
class Identity:
    """Lower-cased alias -> (developer_id, team); a developer is an alias of itself."""

    aliases: dict[str, tuple[str, str | None]]

    def to_arrow(self) -> pa.Table:
        keys = list(self.aliases)
        return pa.table(
            {
                "alias": pa.array(keys, pa.string()),
                "developer_id": pa.array([self.aliases[k][0] for k in keys], pa.string()),
                "team": pa.array([self.aliases[k][1] for k in keys], pa.string()),
            }
        )


EMPTY_IDENTITY = Identity({})


def _parse(doc: Any, path: Path) -> Identity:
    developers = (doc or {}).get("developers", {}) if isinstance(doc, dict) else None
    if not isinstance(developers, dict):
        raise ConfigError(f"{path}: expected a 'developers' mapping of id -> {{team, aliases}}")
    aliases: dict[str, tuple[str, str | None]] = {}
    for developer, entry in developers.items():
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: developer {developer!r}: expected a mapping with team and aliases")
        team = entry.get("team")
        names = entry.get("aliases") or []
        if not isinstance(names, list):
            raise ConfigError(f"{path}: developer {developer!r}: 'aliases' must be a list")
        for alias in [developer, *names]:
            key = str(alias).strip().lower()
            owner = aliases.get(key)
            if owner is not None and owner[0] != str(developer):
                # the last one named would silently take the other's spans and spend
                raise ConfigError(f"{path}: alias {str(alias).strip()!r} is given to both {owner[0]!r} and {str(developer)!r}")
            aliases[key] = (str(developer), None if team is None else str(team))
    return Identity(aliases)


def load_identity(path: Path | None) -> Identity:
    """Read identity.yaml (or a TOML file with the same shape); no file means no mapping."""
    if path is None:
        return EMPTY_IDENTITY
    if not path.is_file():
        raise ConfigError(f"{path}: identity file not found")
    doc = _read_document(path)
    if path.suffix == ".toml" and "developers" not in doc:
        doc = doc.get("identity", {})  # lens.toml itself: [identity.developers.<id>]
    return _parse(doc, path)


def _read_document(path: Path) -> Any:
    """The file parsed as TOML or YAML; unreadable or non-UTF-8 bytes are the user's to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: identity file is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read identity file: {exc.strerror or exc}") from exc
    try:
        return tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse identity file: {exc}".splitlines()[0]) from exc
