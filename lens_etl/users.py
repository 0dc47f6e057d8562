"""Who may log in: the credentials YAML that streamlit-authenticator reads, managed by the CLI.

The file lives outside git (`.streamlit/credentials.yaml`); passwords are bcrypt hashes
(the app passes `auto_hash=False`); usernames are lower-case. Each user has one role and,
for the developer role, a scope: their developer id and/or a team (a team lead).
"""
from __future__ import annotations

import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from .atomic import write_text_atomic
from .errors import LensError

ROLES = ("admin", "analyst", "developer")
MIN_PASSWORD = 8
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@\-]{0,63}$")
WEAK_COOKIE_KEYS = {"", "some_key", "change-me", "changeme", "change_me", "secret", "lens"}


class UserError(LensError):
    """A users command or the credentials file is wrong."""


@dataclass(frozen=True)
class User:
    """A logged-in person: role and, for developers, the rows they may see."""

    username: str
    role: str
    name: str = ""
    developer_id: str | None = None
    team: str | None = None

    @property
    def scoped(self) -> bool:
        """Developers see only their own (or their team's) rows; admins and analysts see all."""
        return self.role not in ("admin", "analyst")

    @property
    def scope_developers(self) -> tuple[str, ...]:
        return (self.developer_id,) if self.scoped and self.developer_id else ()

    @property
    def scope_teams(self) -> tuple[str, ...]:
        return (self.team,) if self.scoped and self.team else ()

    def can_edit_budgets(self) -> bool:
        return self.role == "admin"

    def can_edit_rules(self) -> bool:
        return self.role == "admin"


def normalize_username(name: str) -> str:
    username = name.strip().lower()
    if not USERNAME.match(username):
        raise UserError(f"bad username {name!r}: use letters, digits, '.', '_', '-' or '@' (at most 64)")
    return username


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password too short: at least {MIN_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    """A bcrypt hash, as streamlit-authenticator's `Hasher.hash` makes (bcrypt directly: no Streamlit import in the CLI)."""
    return bcrypt.hashpw(check_password(password.strip()).encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def load(path: Path) -> dict[str, Any]:
    """The whole credentials document ({'credentials': {'usernames': {...}}}); empty if absent."""
    if not path.is_file():
        return {"credentials": {"usernames": {}}}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a mapping with 'credentials'")
    doc.setdefault("credentials", {})
    doc["credentials"]["usernames"] = {str(k).lower(): v for k, v in (doc["credentials"].get("usernames") or {}).items()}
    return doc


def save(path: Path, doc: dict[str, Any]) -> None:
    """Write beside the file and rename over it, readable by the owner only."""
    write_text_atomic(path, yaml.safe_dump(doc, sort_keys=True), mode=0o600)


def _user(username: str, entry: dict[str, Any]) -> User:
    roles = entry.get("roles") or []
    role = roles[0] if roles and roles[0] in ROLES else "developer"  # unknown role: least access
    return User(username, role, str(entry.get("name") or username), entry.get("developer_id"), entry.get("team"))


def users(path: Path) -> dict[str, User]:
    return {name: _user(name, entry or {}) for name, entry in load(path)["credentials"]["usernames"].items()}


def lookup(path: Path, username: str | None) -> User | None:
    return users(path).get(username.lower()) if username else None


def _scope(role: str, developer: str | None, team: str | None) -> dict[str, str]:
    if role == "developer" and not (developer or team):
        raise UserError("a developer needs --developer ID or --team TEAM (the rows they may see)")
    return {k: v for k, v in (("developer_id", developer), ("team", team)) if v}


def add(path: Path, name: str, role: str, password: str, developer: str | None = None, team: str | None = None) -> User:
    username, role = normalize_username(name), check_role(role)
    doc = load(path)
    table = doc["credentials"]["usernames"]
    if username in table:
        raise UserError(f"user {username!r} already exists (use `users reset` or `users set-role`)")
    table[username] = {"name": name.strip(), "password": hash_password(password), "roles": [role],
                       **_scope(role, developer, team)}
    save(path, doc)
    return _user(username, table[username])


def _existing(doc: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    username = name.strip().lower()
    table = doc["credentials"]["usernames"]
    if username not in table:
        raise UserError(f"no user {username!r}")
    return username, table[username]


def remove(path: Path, name: str) -> None:
    doc = load(path)
    username, _ = _existing(doc, name)
    del doc["credentials"]["usernames"][username]
    save(path, doc)


def set_role(path: Path, name: str, role: str, developer: str | None = None, team: str | None = None) -> User:
    doc = load(path)
    username, entry = _existing(doc, name)
    role = check_role(role)
    scope = _scope(role, developer or entry.get("developer_id"), team or entry.get("team"))
    entry.pop("developer_id", None)
    entry.pop("team", None)
    entry.update(roles=[role], **scope)
    save(path, doc)
    return _user(username, entry)


def reset(path: Path, name: str, password: str) -> None:
    doc = load(path)
    _, entry = _existing(doc, name)
    entry["password"] = hash_password(password)
    entry.pop("failed_login_attempts", None)
    save(path, doc)


def cookie_key(secrets_file: Path, env: dict[str, str] | Any) -> tuple[str | None, bool]:
    """The cookie key (env LENS_COOKIE_KEY wins over `[auth] cookie_key` in secrets.toml) and demo mode."""
    auth: dict[str, Any] = {}
    if secrets_file.is_file():
        try:
            auth = tomllib.loads(secrets_file.read_text(encoding="utf-8")).get("auth", {})
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{secrets_file}: not valid TOML: {exc}") from exc
    key = env.get("LENS_COOKIE_KEY") or auth.get("cookie_key")
    demo = bool(auth.get("demo")) or env.get("LENS_DEMO") == "1"
    return (str(key) if key else None), demo


def weak_cookie_key(key: str | None) -> bool:
    return key is None or key.strip().lower() in WEAK_COOKIE_KEYS or len(key) < 16


def bootstrap(credentials_file: Path, secrets_file: Path) -> str | None:
    """A fresh machine: a demo admin with a random password (returned, to print once) and a
    random cookie key in secrets.toml marked demo. Does nothing when users exist."""
    if not secrets_file.is_file() or "cookie_key" not in secrets_file.read_text(encoding="utf-8"):
        _write_cookie_key(secrets_file, secrets.token_urlsafe(32))
    if load(credentials_file)["credentials"]["usernames"]:
        return None
    password = secrets.token_urlsafe(12)
    add(credentials_file, "admin", "admin", password)
    return password


def _write_cookie_key(secrets_file: Path, key: str) -> None:
    text = secrets_file.read_text(encoding="utf-8") if secrets_file.is_file() else ""
    lines = f'cookie_key = "{key}"\ndemo = true  # made by `users bootstrap`; remove once real users exist\n'
    if re.search(r"^\[auth\]\s*$", text, flags=re.M):
        text = re.sub(r"^\[auth\]\s*$", "[auth]\n" + lines.rstrip("\n"), text, count=1, flags=re.M)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + "[auth]\n" + lines
    write_text_atomic(secrets_file, text, mode=0o600)
