"""CLI commands for access and compliance: `users …`, `purge`, `export` (wired by __main__)."""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from . import audit, retention, users, warehouse, writer_lock
from .config import Settings
from .users import UserError


def _actor(settings: Settings) -> str:
    return f"cli:{settings.env.get('USER') or settings.env.get('USERNAME') or 'unknown'}"


def _audit(settings: Settings, action: str, target: str, detail: dict[str, Any]) -> None:
    audit.record(settings.audit_dir, _actor(settings), action, target, detail, role="cli")


def read_password(prompt: str = "Password") -> str:
    """From stdin's first line when it is not a terminal (scripts, tests), else typed twice."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("no password on stdin")
        return users.check_password(password)
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} (again): ") != first:
        raise UserError("the two passwords differ")
    return users.check_password(first)


def _scope_text(user: users.User) -> str:
    return ", ".join(f"{k} {v}" for k, v in (("developer", user.developer_id), ("team", user.team)) if v) or "all rows"


def _add(settings: Settings, args: argparse.Namespace) -> None:
    users.normalize_username(args.name), users.check_role(args.role)  # fail before asking for a password
    user = users.add(settings.credentials_file, args.name, args.role, read_password(), args.developer, args.team)
    _audit(settings, "user_change", user.username, {"op": "add", "role": user.role, "scope": _scope_text(user)})
    print(f"user {user.username} added: {user.role} ({_scope_text(user)})")


def _remove(settings: Settings, args: argparse.Namespace) -> None:
    users.remove(settings.credentials_file, args.name)
    _audit(settings, "user_change", args.name.lower(), {"op": "remove"})
    print(f"user {args.name.lower()} removed")


def _set_role(settings: Settings, args: argparse.Namespace) -> None:
    user = users.set_role(settings.credentials_file, args.name, args.role, args.developer, args.team)
    _audit(settings, "user_change", user.username, {"op": "set-role", "role": user.role, "scope": _scope_text(user)})
    print(f"user {user.username} is now {user.role} ({_scope_text(user)})")


def _reset(settings: Settings, args: argparse.Namespace) -> None:
    if users.lookup(settings.credentials_file, args.name) is None:
        raise UserError(f"no user {args.name.lower()!r}")
    users.reset(settings.credentials_file, args.name, read_password("New password"))
    _audit(settings, "user_change", args.name.lower(), {"op": "reset"})
    print(f"password of {args.name.lower()} reset")


def _list(settings: Settings, _: argparse.Namespace) -> None:
    known = users.users(settings.credentials_file)
    if not known:
        print(f"no users in {settings.credentials_file}")
    for user in known.values():
        print(f"{user.username}\t{user.role}\t{_scope_text(user)}")


def _bootstrap(settings: Settings, _: argparse.Namespace) -> None:
    password = users.bootstrap(settings.credentials_file, settings.secrets_file)
    if password:
        _audit(settings, "user_change", "admin", {"op": "bootstrap", "role": "admin"})
        print(f"Demo admin created — username: admin  password: {password}\n"
              f"(shown once; change it with `python -m lens_etl users reset admin`, "
              f"add people with `python -m lens_etl users add NAME --role ROLE`)")


def _purge(settings: Settings, args: argparse.Namespace) -> None:
    with writer_lock.exclusive(settings.spans_dir, "purge"):
        result = retention.purge(settings, args.developer)
        warehouse.build(settings, publish=True)  # the lake URL's copy loses them too
    _audit(settings, "purge", args.developer, {"spans": result.spans, "days": [str(d) for d in result.days],
                                                "dead_letters": result.dead_letters})
    print(f"purged {args.developer}: {result.spans:,} span(s) over {len(result.days)} day(s), "
          f"{result.dead_letters:,} dead letter(s); rollups and views rebuilt")


def _export(settings: Settings, args: argparse.Namespace) -> None:
    out = Path(args.out)
    rows = retention.export(settings, args.developer, out)
    _audit(settings, "export", args.developer, {"rows": rows, "file": str(out)})
    print(f"exported {rows:,} span(s) of {args.developer} to {out}")


def add_commands(commands: Any) -> None:
    parser = commands.add_parser("users", help="manage who may log in to the app (.streamlit/credentials.yaml)")
    sub = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add a user (password from stdin, or typed twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--developer", help="a developer's own developer id (the rows they may see)")
    add.add_argument("--team", help="a team lead's team (the rows they may see)")
    add.set_defaults(handler=_add)
    remove = sub.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)
    set_role = sub.add_parser("set-role", help="change a user's role (and scope)")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=users.ROLES)
    set_role.add_argument("--developer")
    set_role.add_argument("--team")
    set_role.set_defaults(handler=_set_role)
    reset = sub.add_parser("reset", help="set a new password")
    reset.add_argument("name")
    reset.set_defaults(handler=_reset)
    sub.add_parser("list", help="list users, roles and scopes").set_defaults(handler=_list)
    sub.add_parser("bootstrap", help="first run: a demo admin with a random password and a cookie key").set_defaults(
        handler=_bootstrap)

    purge = commands.add_parser("purge", help="remove one developer's rows from the lake, rollups and dead letters")
    purge.add_argument("--developer", required=True)
    purge.set_defaults(handler=_purge)
    export = commands.add_parser("export", help="write one developer's rows to FILE.parquet or FILE.jsonl")
    export.add_argument("--developer", required=True)
    export.add_argument("--out", required=True, metavar="FILE")
    export.set_defaults(handler=_export)
