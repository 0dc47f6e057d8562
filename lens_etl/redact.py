"""Secrets and PII out of text before anything is written: one SQL macro, applied in bulk."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: str  # RE2 syntax: it runs inside DuckDB
    replacement: str
    hints: tuple[str, ...]  # literal text every match contains one of: a cheap first test


SECRET_PATTERNS: tuple[Pattern, ...] = (
    Pattern("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)", "[REDACTED:private_key]", ("PRIVATE KEY",)),
    Pattern("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{16,}", "[REDACTED:anthropic_key]", ("sk-ant-",)),
    Pattern("openai_key", r"sk-(proj-)?[A-Za-z0-9_\-]{20,}", "[REDACTED:openai_key]", ("sk-",)),
    Pattern("aws_access_key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "[REDACTED:aws_access_key]", ("AKIA", "ASIA")),
    Pattern("github_token", r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})", "[REDACTED:github_token]", ("gh", "github_pat_")),
    Pattern("bearer", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-]{16,}", "Bearer [REDACTED:token]", ("earer", "EARER")),
)
PII_PATTERNS: tuple[Pattern, ...] = (
    Pattern("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "[REDACTED:email]", ("@",)),
)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def macro_sql(name: str, patterns: tuple[Pattern, ...]) -> str:
    """`CREATE MACRO name(x)` that applies every pattern in turn (RE2, global).

    Most text holds no secret: a substring test on each pattern's hints decides whether the
    regular expressions run at all.
    """
    body = "x"
    for pattern in patterns:
        body = f"regexp_replace({body}, {_sql_string(pattern.regex)}, {_sql_string(pattern.replacement)}, 'g')"
    hints = sorted({hint for pattern in patterns for hint in pattern.hints})
    test = " OR ".join(f"contains(x, {_sql_string(hint)})" for hint in hints)
    return f"CREATE OR REPLACE MACRO {name}(x) AS CASE WHEN {test} THEN {body} ELSE x END;"
