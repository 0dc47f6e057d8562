"""The login gate, roles and row scope, the audit trail, and hostile input (AppTest on the sample lake)."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from conftest import log_in_as
from lens_etl import users
from lens_etl.config import Settings
from lens_etl.users import User
from lens_etl.warehouse import connect_readonly
from pages._common import NO_MATCH, SCREENS_DIR, bound_params, scoped_params

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.usefixtures("app_users")
HOSTILE = ["'; DROP VIEW spans; --", "%", "_", "ünï©ødé 🔭 \u202e", "x" * 5000, "\x00", "' OR '1'='1", "$start"]


@pytest.fixture(scope="module")
def db(sample_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect_readonly(sample_settings.duckdb_path)
    yield con
    con.close()


@pytest.fixture(scope="module")
def people(db: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The two busiest developers: 'me' (the logged-in developer) and someone else."""
    rows = db.execute("SELECT developer_id FROM spans WHERE developer_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 2").fetchall()
    return rows[0][0], rows[1][0]


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory, people: tuple[str, str]) -> Path:
    path = tmp_path_factory.mktemp("auth") / "credentials.yaml"
    users.add(path, "root", "admin", PASSWORD)
    users.add(path, "ana", "analyst", PASSWORD)
    users.add(path, "dev", "developer", PASSWORD, developer=people[0])
    users.add(path, "locky", "analyst", PASSWORD)
    return path


@pytest.fixture
def real_login(monkeypatch: pytest.MonkeyPatch, credentials: Path, tmp_path: Path, sample_settings: Settings) -> Settings:
    """The real gate: this module's credentials file and a fresh cookie key."""
    monkeypatch.setenv("LENS_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("LENS_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("LENS_COOKIE_KEY", secrets.token_urlsafe(32))
    return sample_settings


def app(**query_params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    return at


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.run()
    at.text_input(key="lens_login_username").input(username)
    at.text_input(key="lens_login_password").input(password)
    at.button[0].click().run()
    return at


def shows_nothing_but_the_gate(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")
    assert not at.sidebar.multiselect and not at.get("download_button")


def audited(settings: Settings, action: str, target: str) -> int:
    files = list(settings.audit_dir.glob(f"*-{action}-*.parquet"))
    return sum(pq.read_table(f)["target"].to_pylist().count(target) for f in files)


def test_the_login_form_shows_and_nothing_else_renders(real_login: Settings) -> None:
    at = app()
    at.run()
    assert at.text_input(key="lens_login_username") is not None
    assert not at.error
    shows_nothing_but_the_gate(at)


def test_no_environment_or_half_set_session_gets_past_the_gate(real_login: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The old test-only bypass variable does nothing, and a username without streamlit-authenticator's
    `authentication_status is True` is not a login."""
    monkeypatch.setenv("LENS_TEST_LOGIN", "root:admin")
    for status in (None, False, "true"):
        at = app()
        at.session_state["authentication_status"] = status
        at.session_state["username"] = "root"
        at.session_state["roles"] = ["admin"]
        at.run()
        assert at.text_input(key="lens_login_username") is not None
        shows_nothing_but_the_gate(at)


def test_a_wrong_password_is_refused_and_logged(real_login: Settings) -> None:
    before = audited(real_login, "login_failed", "ana")
    at = log_in(app(), "ana", "wrong password!")
    assert any("Wrong username or password" in e.value for e in at.error)
    shows_nothing_but_the_gate(at)
    assert audited(real_login, "login_failed", "ana") == before + 1


def test_login_shows_the_overview_and_a_logout_button(real_login: Settings) -> None:
    """(AppTest drops button clicks of runs through app.py, see test_pages_extra; the logout
    click itself is driven in tests/test_browser_login.py.)"""
    at = log_in(app(), "root")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.metric, "the overview did not render after login"
    assert at.button(key="lens_logout") is not None
    assert audited(real_login, "login", "root") >= 1


def test_five_failures_lock_the_username_even_for_the_right_password(real_login: Settings) -> None:
    at = app()
    for _ in range(5):
        log_in(at, "locky", "not the password")
    log_in(at, "locky")
    assert any("Too many failed logins" in e.value for e in at.error)
    shows_nothing_but_the_gate(at)


def test_a_missing_cookie_key_outside_demo_mode_refuses_to_start(real_login: Settings,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENS_COOKIE_KEY")
    at = app()
    at.run()
    assert len(at.error) == 1 and "cookie key" in at.error[0].value
    assert not at.text_input
    shows_nothing_but_the_gate(at)


def test_demo_mode_without_a_key_still_shows_the_login(real_login: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LENS_COOKIE_KEY")
    monkeypatch.setenv("LENS_DEMO", "1")
    at = app()
    at.run()
    assert not at.error and at.text_input(key="lens_login_username") is not None


def _own_requests(db: duckdb.DuckDBPyConnection, developer: str) -> int:
    newest = db.execute("SELECT CAST(max(start_time) AS DATE) FROM spans WHERE developer_id = ?", [developer]).fetchone()[0]
    start = datetime.combine(newest - timedelta(days=29), time())
    return db.execute("SELECT count(*) FILTER (WHERE is_request) FROM spans WHERE developer_id = ? AND start_time >= ? "
                      "AND start_time < ?", [developer, start, datetime.combine(newest + timedelta(days=1), time())]).fetchone()[0]


def test_a_developer_sees_only_their_rows_whatever_the_url_or_state_asks(
        real_login: Settings, db: duckdb.DuckDBPyConnection, people: tuple[str, str]) -> None:
    me, other = people
    at = app(developer=other)
    at.session_state["lens_developers"] = [other]
    log_in(at, "dev")
    assert not at.exception, [e.message for e in at.exception]
    assert float(next(m.value for m in at.metric if m.label == "Requests").replace(",", "")) == _own_requests(db, me)
    assert at.sidebar.multiselect(key="lens_developers").options == [me]
    at.switch_page("pages/sessions.py").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = {v for df in (d.value for d in at.dataframe) if "developer_id" in df for v in df["developer_id"].dropna()}
    assert shown <= {me}
    assert "Audit" not in str(at.get("navigation") or "")


def test_the_query_layer_forces_the_scope_into_the_params() -> None:
    dev = User("dev", "developer", developer_id="alice")
    assert scoped_params({"developers": []}, dev)["developers"] == ["alice"]
    assert scoped_params({"developers": ["bob"]}, dev)["developers"] == [NO_MATCH]
    assert scoped_params({"developers": ["alice", "bob"]}, dev)["developers"] == ["alice"]
    assert scoped_params({"developers": ["bob"]}, User("ana", "analyst"))["developers"] == ["bob"]
    assert scoped_params({}, dev)["scope_developers"] == ["alice"]


def test_the_views_hold_the_scope_even_for_a_crafted_filter(db: duckdb.DuckDBPyConnection, people: tuple[str, str]) -> None:
    me, other = people
    cur = db.cursor()
    cur.execute("SET VARIABLE lens_scoped = true")
    cur.execute("SET VARIABLE lens_scope_developers = ['" + me + "']")
    everything = "TIMESTAMP '2000-01-01', TIMESTAMP '2100-01-01'"
    assert cur.execute(f"SELECT count(*) FROM filtered_spans({everything}, ['{other}'], [], [], [], [])").fetchone()[0] == 0
    assert cur.execute(f"SELECT count(*) FROM filtered_daily({everything}, ['{other}'], [], [], [], [])").fetchone()[0] == 0
    assert cur.execute("SELECT list_distinct(list(developer_id)) FROM sessions").fetchone()[0] == [me]
    for hidden in ("dead_letters", "ingest_runs", "audit_log"):
        assert cur.execute(f"SELECT count(*) FROM {hidden}").fetchone()[0] == 0
    cur.close()


def test_an_analyst_cannot_edit_budgets(real_login: Settings) -> None:
    at = log_in(app(), "ana")
    at.switch_page("pages/cost.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.metric
    assert "budget_save" not in {b.key for b in at.button}
    assert not any("Edit budgets" in e.label for e in at.expander)


def test_hostile_query_params_change_nothing(sample_settings: Settings, db: duckdb.DuckDBPyConnection) -> None:
    for value in HOSTILE[:4]:
        at = log_in_as(app(developer=value, team=value, model=value, service=value, repo=value, range=value,
                           start=value, end=value, session=value))
        at.run()
        assert not at.exception, (value, [e.message for e in at.exception])
        assert at.session_state["lens_filters"].developers == ()
    at.switch_page("pages/sessions.py").run()
    assert not at.exception
    assert db.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'spans'").fetchone()[0] == 1


def _params(value: Any) -> dict[str, Any]:
    day = date(2026, 11, 1)
    text = {k: value for k in ("session_id", "span_id", "budget_scope", "budget_name", "actor", "search")}
    return {"start": datetime.combine(day, time()), "end": datetime.combine(day + timedelta(days=30), time()),
            **{k: [value] for k in ("developers", "teams", "models", "services", "repos", "actions")}, **text}


@pytest.mark.parametrize("value", HOSTILE)
def test_every_screen_query_binds_hostile_text_as_data(db: duckdb.DuckDBPyConnection, value: str) -> None:
    """Each screen query that takes only filters and text params runs with the hostile value as data."""
    ran = 0
    for path in sorted(SCREENS_DIR.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        try:
            params = bound_params(sql, _params(value))
        except ValueError:
            continue  # needs other (numeric, computed) params: covered by the page tests
        cur = db.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        try:
            cur.execute(sql, bound_params(sql, _params("benign")))
        except duckdb.Error:
            continue  # broken whatever the input (a screen being reworked): not this test's concern
        cur.execute(sql, params).fetchall()
        cur.close()
        ran += 1
    assert ran >= 20
    assert db.execute("SELECT count(*) FROM spans").fetchone()[0] > 0
