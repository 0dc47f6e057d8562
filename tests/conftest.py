"""Shared fixtures: one sample lake per test session, and the app's users, for the page tests (AppTest)."""
from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import duckdb
import pytest

from lens_etl import budgets, users
from lens_etl.config import Settings
from lens_etl.pipeline import ingest
from lens_etl.sources.files import read_files
from lens_etl.warehouse import connect_readonly

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "data" / "samples"
NOT_SPANS = {"README.md", "manifest.json", "identity.yaml"}

SYNTHETIC_END = datetime(2026, 11, 20, tzinfo=timezone.utc)
SYNTHETIC_DAYS = 14
IDENTITY_YAML = """\
developers:
  alice: {team: payments, aliases: [acct-alice]}
  bob: {team: platform, aliases: [acct-bob]}
  carol: {team: platform, aliases: [acct-carol]}
  dave: {team: payments, aliases: [acct-dave]}
"""
# developer alias, usual repo, service, favourite models
DEVELOPERS = [
    ("acct-alice", "payments-api", "litellm-proxy", ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]),
    ("acct-bob", "infra", "litellm-proxy", ["claude-opus-4-1-20250805", "claude-sonnet-4-5-20250929"]),
    ("acct-carol", "web-app", "litellm-eu", ["claude-sonnet-4-5-20250929", "gpt-4o-2024-08-06"]),
    ("acct-dave", "payments-api", "litellm-eu", ["claude-haiku-4-5-20251001", "acme-internal-coder-v2"]),
    ("acct-erin", "web-app", "litellm-proxy", ["claude-sonnet-4-5-20250929"]),
]
TOOLS = ["Read", "Read", "Read", "Edit", "Edit", "Write", "Bash", "Bash", "Grep", "Glob", "Task", "WebFetch",
         "TodoWrite", "mcp__github__create_pull_request"]


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _tool_span(rng: random.Random, tool: str, parent: str, trace: str, at: datetime, n: int) -> dict:
    tool_input: dict = {"file_path": f"/src/mod{n % 7}.py"}
    output = "ok"
    if tool == "Edit":
        tool_input |= {"old_string": "a = 1\nb = 2", "new_string": "a = 1\nb = 3\nc = 4"}
        output = "The file has been updated."
    elif tool == "Write":
        tool_input |= {"content": "\n".join(f"line {i}" for i in range(rng.randint(2, 30)))}
        output = "File created successfully."
    if tool in ("Edit", "Write") and rng.random() < 0.2:
        output = "The user doesn't want to proceed with this tool use. The tool use was rejected."
    failed = tool == "Bash" and rng.random() < 0.15
    return {
        "name": f"Claude_Code_Tool_{tool}", "span_kind": "TOOL", "parent_id": parent,
        "start_time": _ms(at), "end_time": _ms(at + timedelta(milliseconds=rng.randint(5, 4000))),
        "status_code": "ERROR" if failed else "OK", "status_message": "exit code 1" if failed else "",
        "context.span_id": f"s{n:015d}", "context.trace_id": trace, "attributes.tool.name": tool,
        "attributes.input.value": json.dumps({"id": f"toolu_{n}", "name": tool, "input": tool_input}),
        "attributes.output.value": output,
    }


def synthetic_records(seed: int = 7) -> list[dict]:
    """A small, deterministic, real-shaped flat export: 5 developers, 5 models, 10 tools, 14 days."""
    rng = random.Random(seed)
    records: list[dict] = []
    n = 0
    for day in range(SYNTHETIC_DAYS):
        date = SYNTHETIC_END - timedelta(days=SYNTHETIC_DAYS - day)
        for alias, repo, service, models in DEVELOPERS:
            for s in range(rng.randint(0, 2)):
                session = f"sess-{alias}-{day}-{s}"
                at = date + timedelta(hours=rng.randint(8, 18), minutes=rng.randint(0, 59))
                for turn in range(rng.randint(2, 6)):
                    n += 1
                    trace, llm_id = f"t{n:031d}", f"l{n:015d}"
                    model = rng.choice(models)
                    prompt = rng.randint(2_000, 60_000)
                    error = rng.random() < 0.06
                    tools = rng.sample(TOOLS, rng.randint(0, 4))
                    content = [{"type": "text", "text": "ok"}] + [
                        {"type": "tool_use", "id": f"toolu_{n}_{i}", "name": t, "input": {}} for i, t in enumerate(tools)
                    ]
                    latency = rng.randint(800, 25_000)
                    records.append({
                        "name": "litellm_request", "span_kind": "LLM", "parent_id": None,
                        "start_time": _ms(at), "end_time": _ms(at + timedelta(milliseconds=latency)),
                        "status_code": "ERROR" if error else "OK",
                        "status_message": "litellm.RateLimitError: rate limited" if error else "",
                        "context.span_id": llm_id, "context.trace_id": trace,
                        "attributes.llm.model_name": model,
                        "attributes.llm.token_count.prompt": float(prompt),
                        "attributes.llm.token_count.completion": float(0 if error else rng.randint(50, 3_000)),
                        "attributes.session.id": session, "attributes.user.id": alias,
                        "attributes.service.name": service,
                        "attributes.metadata": json.dumps({
                            "cwd": f"/home/{alias}/src/{repo}",
                            "usage_object": {"cache_read_input_tokens": int(prompt * rng.uniform(0, 0.8)),
                                             "cache_creation_input_tokens": int(prompt * 0.05)},
                        }),
                        "attributes.input.value": "please help with the build",
                        "attributes.llm.output_messages.0.message.content": repr(content),
                    })
                    at += timedelta(milliseconds=latency + 50)
                    for tool in [] if error else tools:
                        n += 1
                        records.append(_tool_span(rng, tool, llm_id, trace, at, n))
                        at += timedelta(seconds=rng.randint(1, 20))
                    at += timedelta(minutes=rng.randint(1, 15))
    return records


def write_synthetic_export(folder: Path) -> tuple[list[Path], Path]:
    """The synthetic export as JSONL (with one malformed line) plus its identity file."""
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "synthetic.jsonl"
    lines = [json.dumps(r) for r in synthetic_records()]
    export.write_text("\n".join(lines[:10] + ['{"name": "broken", '] + lines[10:]) + "\n", encoding="utf-8")
    identity = folder / "identity.yaml"
    identity.write_text(IDENTITY_YAML, encoding="utf-8")
    return [export], identity


def build_sample_lake(data_dir: Path) -> Settings:
    """The bundled samples when present, else the synthetic export, ingested into data_dir."""
    sample_files = sorted(p for p in SAMPLES_DIR.glob("*") if p.is_file() and p.name not in NOT_SPANS)
    if sample_files:
        identity = SAMPLES_DIR / "identity.yaml"
        paths, identity_file = sample_files, identity if identity.is_file() else None
    else:
        paths, identity_file = write_synthetic_export(data_dir.parent / "export")
    settings = Settings(data_dir=data_dir, identity_file=identity_file)
    ingest(settings, "file", "samples", read_files(paths, settings.batch_bytes))
    return settings


TEST_PASSWORD = "correct horse battery"
APP_USERS = {"admin": "admin", "analyst": "analyst"}  # username: role


@pytest.fixture(scope="session")
def app_users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """What the app's login needs, through the env it reads: a credentials file (an admin and an
    analyst, password TEST_PASSWORD), a cookie key and an empty secrets file (so a checkout's
    .streamlit/ plays no part). Log an AppTest in with `log_in_as`."""
    folder = tmp_path_factory.mktemp("auth")
    path = folder / "credentials.yaml"
    for name, role in APP_USERS.items():
        users.add(path, name, role, TEST_PASSWORD)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LENS_CREDENTIALS_FILE", str(path))
        env.setenv("LENS_SECRETS_FILE", str(folder / "secrets.toml"))
        env.setenv("LENS_COOKIE_KEY", secrets.token_urlsafe(32))
        yield path


def add_app_user(name: str, role: str, developer: str | None = None, team: str | None = None) -> None:
    """One more user in the `app_users` credentials file (kept if already there)."""
    path = Path(os.environ["LENS_CREDENTIALS_FILE"])
    if users.lookup(path, name) is None:
        users.add(path, name, role, TEST_PASSWORD, developer, team)


def log_in_as(at: AppTest, username: str = "admin") -> AppTest:
    """`at` logged in as a user of the `app_users` file, set before its first run: the session
    keys streamlit-authenticator's login sets on a correct password (the gate reads
    pages/_auth.LOGIN_KEYS of them; the role comes from the credentials file)."""
    entry = users.load(Path(os.environ["LENS_CREDENTIALS_FILE"]))["credentials"]["usernames"][username]
    for key, value in {"authentication_status": True, "username": username, "name": entry.get("name"),
                       "email": entry.get("email"), "roles": entry.get("roles")}.items():
        at.session_state[key] = value
    return at


# --- the app in a browser (tests/test_browser*.py) ------------------------------------------------

def cli_add_user(credentials: Path, data_dir: Path, name: str, role: str, *scope: str,
                 password: str = TEST_PASSWORD) -> None:
    """`python -m lens_etl users add NAME --role ROLE [--developer ID]`, the password on stdin."""
    env = {**os.environ, "LENS_CREDENTIALS_FILE": str(credentials), "LENS_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "lens_etl", "users", "add", name, "--role", role, *scope],
                          input=password + "\n", text=True, capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


@contextmanager
def app_server(data_dir: Path, credentials: Path, log: Path) -> Iterator[str]:
    """`streamlit run app.py` (bench/run.py's server) with this credentials file, a fresh cookie key
    and no secrets file, through the env the app reads; yields the base URL."""
    from bench.run import streamlit_server

    with pytest.MonkeyPatch.context() as env:
        env.setenv("LENS_CREDENTIALS_FILE", str(credentials))
        env.setenv("LENS_SECRETS_FILE", str(credentials.with_name("secrets.toml")))
        env.setenv("LENS_COOKIE_KEY", secrets.token_urlsafe(32))
        with streamlit_server(data_dir, log) as url:
            yield url


def fill_login_form(page: object, base_url: str, username: str, password: str = TEST_PASSWORD) -> None:
    """Open the app and submit its login form (Playwright)."""
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def wait_signed_in(page: object, timeout_ms: int = 90_000) -> None:
    """Until the sidebar names the logged-in user (after the form, or the cookie on a new page load)."""
    page.get_by_text("Signed in as").wait_for(timeout=timeout_ms)


def wait_for_cookie(page: object, present: bool, timeout_ms: int = 60_000) -> None:
    from pages._auth import COOKIE_NAME

    for _ in range(timeout_ms // 200):
        if any(c["name"] == COOKIE_NAME for c in page.context.cookies()) == present:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"the login cookie is {'missing' if present else 'still set'}")


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A lake built once per session; LENS_DATA_DIR points the app (AppTest) at it."""
    settings = build_sample_lake(tmp_path_factory.mktemp("lens") / "data")
    previous = os.environ.get("LENS_DATA_DIR")
    os.environ["LENS_DATA_DIR"] = str(settings.data_dir)
    yield settings
    if previous is None:
        os.environ.pop("LENS_DATA_DIR", None)
    else:
        os.environ["LENS_DATA_DIR"] = previous


# --- page tests (AppTest) over the shared sample lake --------------------------------------------

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def db(sample_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The sample lake's views, as an analyst queries them, to check a page's numbers against."""
    con = connect_readonly(sample_settings.duckdb_path)
    yield con
    con.close()


@pytest.fixture
def no_budgets(sample_settings: Settings) -> Iterator[Settings]:
    """The shared lake starts and ends each test without budgets."""
    budgets.save(sample_settings, [])
    yield sample_settings
    budgets.save(sample_settings, [])


def scalar(db: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    return db.execute(sql, list(params)).fetchone()[0]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def open_page(page: str, user: str = "admin", **query_params: str) -> AppTest:
    """A page as `user` opens it from the app, with the URL's query parameters."""
    from streamlit.testing.v1 import AppTest

    at = log_in_as(AppTest.from_file(APP, default_timeout=60), user)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at
