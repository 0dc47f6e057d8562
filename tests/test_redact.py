"""Redaction at ingest: secrets generated inside text, JSON and Python reprs never survive."""
from __future__ import annotations

import json
import string

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from lens_etl import redact
from lens_etl.errors import ConfigError

ALNUM = string.ascii_letters + string.digits
SECRETS = st.one_of(
    st.text(ALNUM + "_-", min_size=20, max_size=60).map(lambda s: "sk-ant-api03-" + s),
    st.text(ALNUM, min_size=24, max_size=60).map(lambda s: "sk-proj-" + s),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: "AKIA" + s),
    st.text(ALNUM, min_size=36, max_size=40).map(lambda s: "ghp_" + s),
    st.tuples(st.sampled_from(["Bearer", "bearer", "BEARER"]), st.text(ALNUM + "._-", min_size=20, max_size=50)).map(" ".join),
    st.text(ALNUM + "+/\n", min_size=40, max_size=200).map(
        lambda s: f"-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----"),
    st.tuples(st.text(ALNUM + "._", min_size=1, max_size=12), st.text(string.ascii_lowercase, min_size=2, max_size=10))
    .map(lambda t: f"{t[0]}@{t[1]}.com"),
)
FILLER = st.text(string.printable, max_size=40)
SEPARATED = FILLER.map(lambda s: s + " ")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(redact.macro_sql("lens_redact_all", redact.active(None, ("secret", "pii"))))
    return con


def redacted(con: duckdb.DuckDBPyConnection, text: str, macro: str = "lens_redact_all") -> str:
    return con.execute(f"SELECT {macro}($t)", {"t": text}).fetchone()[0]


def core(secret: str) -> str:
    """The part of a secret that must be gone (the prefix alone, like 'sk-ant-', is no secret)."""
    return secret.split("\n")[1] if "PRIVATE KEY" in secret else secret


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=SEPARATED, secret=SECRETS, after=FILLER, shape=st.sampled_from(["text", "json", "repr"]))
def test_secrets_never_survive(con: duckdb.DuckDBPyConnection, before: str, secret: str, after: str, shape: str) -> None:
    assume(core(secret) not in before + after)
    text = before + secret + " " + after
    doc = {"text": json.dumps({"messages": [{"content": text}]}), "json": json.dumps({"k": text}),
           "repr": repr({"k": [text]}), }[shape]
    out = redacted(con, doc)
    inner = json.dumps(core(secret))[1:-1] if shape != "text" else core(secret)
    assert core(secret) not in out and inner not in out
    assert "[REDACTED" in out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(string.ascii_letters + " .,;:!?()[]{}'\"\n", max_size=200))
def test_ordinary_text_is_kept(con: duckdb.DuckDBPyConnection, text: str) -> None:
    assert redacted(con, text) == text


def test_config_switches_patterns_off_and_adds_custom_ones() -> None:
    patterns = redact.patterns_from_config({"email": False, "custom": [
        {"name": "ticket", "regex": r"JIRA-[0-9]+"},
        {"name": "host", "regex": r"[a-z]+\.internal\.acme", "replacement": "<host>"}]})
    con = duckdb.connect()
    con.execute(redact.macro_sql("r", redact.active(patterns, ("secret", "pii"))))
    out = redacted(con, "mail bob@acme.dev about JIRA-1234 on db.internal.acme", "r")
    assert out == "mail bob@acme.dev about [REDACTED:ticket] on <host>"


@pytest.mark.parametrize("section, message", [
    ({"nonsense": False}, "unknown pattern"),
    ({"email": "no"}, "true or false"),
    ({"custom": [{"name": "x"}]}, "needs name and regex"),
    ({"custom": [{"name": "x", "regex": "(unclosed"}]}, "not a valid RE2 regex"),
])
def test_bad_redaction_config_is_one_clear_error(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        redact.patterns_from_config(section)
