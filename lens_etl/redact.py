"""Secrets and PII out of text before anything is written: one SQL macro, applied in bulk.

Which patterns run is a per-deployment choice (`[redaction]` in lens.toml): each built-in
pattern can be switched off by name and custom regexes added; see `patterns_from_config`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import duckdb

from .errors import ConfigError


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: str  # RE2 syntax: it runs inside DuckDB
    replacement: str
    hints: tuple[str, ...]  # literal text every match contains one of: a cheap first test; () = always run
    kind: str = "secret"  # "secret" runs on every text field, metadata included; "pii" on content only


SECRET_PATTERNS: tuple[Pattern, ...] = (
    Pattern("private_key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|$)",
            "[REDACTED:private_key]", ("PRIVATE KEY",)),
    Pattern("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{16,}", "[REDACTED:anthropic_key]", ("sk-ant-",)),
    Pattern("openai_key", r"sk-(proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", "[REDACTED:openai_key]", ("sk-",)),
    Pattern("aws_access_key", r"(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}", "[REDACTED:aws_access_key]", ("AKIA", "ASIA", "ABIA", "ACCA")),
    Pattern("aws_secret_key", r"(?i)aws_?secret_?(access_?)?key[\"'\\]*\s*[:=]\s*[\"'\\]*[A-Za-z0-9/+=]{40}",
            "aws_secret_access_key=[REDACTED:aws_secret_key]", ("ecret", "ECRET")),
    Pattern("github_token", r"(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})", "[REDACTED:github_token]",
            ("gh", "github_pat_")),
    Pattern("bearer", r"(?i)bearer\s+[A-Za-z0-9._~+/=\-]{16,}", "Bearer [REDACTED:token]", ("earer", "EARER")),
)
PII_PATTERNS: tuple[Pattern, ...] = (
    Pattern("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "[REDACTED:email]", ("@",), kind="pii"),
)
BUILTIN: dict[str, Pattern] = {p.name: p for p in SECRET_PATTERNS + PII_PATTERNS}


def patterns_from_config(section: Mapping[str, Any]) -> tuple[Pattern, ...]:
    """The `[redaction]` table: `<pattern> = false` turns a built-in off; `[[redaction.custom]]`
    entries (name, regex, optional replacement, kind) add RE2 patterns, checked here."""
    switches = {k: v for k, v in section.items() if k != "custom"}
    unknown = sorted(set(switches) - set(BUILTIN))
    if unknown:
        raise ConfigError(f"[redaction]: unknown pattern {unknown[0]!r} (known: {', '.join(BUILTIN)})")
    for name, value in switches.items():
        if not isinstance(value, bool):
            raise ConfigError(f"[redaction]: {name} must be true or false")
    patterns = [p for name, p in BUILTIN.items() if switches.get(name, True)]
    for i, entry in enumerate(section.get("custom", [])):
        patterns.append(_custom(i, entry))
    return tuple(patterns)


def _custom(index: int, entry: Any) -> Pattern:
    where = f"[[redaction.custom]] #{index + 1}"
    if not isinstance(entry, Mapping) or not entry.get("name") or not entry.get("regex"):
        raise ConfigError(f"{where}: needs name and regex")
    name, regex = str(entry["name"]), str(entry["regex"])
    kind = str(entry.get("kind", "secret"))
    if kind not in ("secret", "pii"):
        raise ConfigError(f"{where} ({name}): kind must be 'secret' or 'pii'")
    con = duckdb.connect()
    try:
        con.execute("SELECT regexp_replace('', $regex, '', 'g')", {"regex": regex})
    except duckdb.Error as exc:
        raise ConfigError(f"{where} ({name}): not a valid RE2 regex: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    return Pattern(name, regex, str(entry.get("replacement", f"[REDACTED:{name}]")), (), kind)


def active(patterns: tuple[Pattern, ...] | None, kinds: tuple[str, ...]) -> tuple[Pattern, ...]:
    """The configured patterns (every built-in when None) of these kinds."""
    return tuple(p for p in (patterns if patterns is not None else tuple(BUILTIN.values())) if p.kind in kinds)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def macro_sql(name: str, patterns: tuple[Pattern, ...]) -> str:
    """`CREATE MACRO name(x)` that applies every pattern in turn (RE2, global).

    Most text holds no secret: a substring test on each pattern's hints decides whether the
    regular expressions run at all (a pattern without hints always runs).
    """
    body = "x"
    for pattern in patterns:
        body = f"regexp_replace({body}, {_sql_string(pattern.regex)}, {_sql_string(pattern.replacement)}, 'g')"
    if not patterns:
        return f"CREATE OR REPLACE MACRO {name}(x) AS x;"
    if any(not p.hints for p in patterns):
        return f"CREATE OR REPLACE MACRO {name}(x) AS {body};"
    hints = sorted({hint for pattern in patterns for hint in pattern.hints})
    test = " OR ".join(f"contains(x, {_sql_string(hint)})" for hint in hints)
    return f"CREATE OR REPLACE MACRO {name}(x) AS CASE WHEN {test} THEN {body} ELSE x END;"
