"""Page tests with the sidebar filters set and as a developer-role user: what a screen says about
data the filters or the role leave out."""
from __future__ import annotations


import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from conftest import add_app_user, open_page, scalar
from lens_etl.config import Settings

pytestmark = pytest.mark.usefixtures("app_users")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def builtin_checks_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Built-in checks"))


def test_live_builtin_checks_look_at_the_whole_lake_when_the_filtered_team_went_quiet_earlier(
    db: duckdb.DuckDBPyConnection, no_budgets: Settings,
) -> None:
    newest = scalar(db, "SELECT max(start_time) FROM spans")
    team, team_newest = db.execute(
        "SELECT team, max(start_time) FROM spans WHERE team IS NOT NULL GROUP BY 1 ORDER BY 2 LIMIT 1").fetchone()
    assert f"{team_newest:%Y-%m-%d %H:%M}" != f"{newest:%Y-%m-%d %H:%M}"
    at = open_page("pages/live.py", team=team)
    assert any(f"Last activity was {team_newest:%Y-%m-%d %H:%M:%S} UTC" in w.value for w in at.warning)
    # the checks are over all data: as of the lake's last activity, not the filtered team's
    assert f"as of {newest:%Y-%m-%d %H:%M} UTC over all data" in builtin_checks_caption(at)


def test_a_developer_role_users_live_checks_point_to_no_editor_they_do_not_have(
    db: duckdb.DuckDBPyConnection, no_budgets: Settings,
) -> None:
    developer = scalar(db, "SELECT developer_id FROM spans WHERE developer_id IS NOT NULL ORDER BY 1 LIMIT 1")
    add_app_user("live-dev", "developer", developer=developer)
    caption = builtin_checks_caption(open_page("pages/live.py", user="live-dev"))
    assert "Alert rules below" not in caption and "Cost page" not in caption
    assert "over all your data" in caption
    admin = builtin_checks_caption(open_page("pages/live.py"))
    assert "Alert rules below" in admin and "Cost page" in admin


def test_overview_health_hides_ingest_runs_and_dead_letters_from_a_developer_role_user(
    db: duckdb.DuckDBPyConnection,
) -> None:
    developer = scalar(db, "SELECT developer_id FROM spans WHERE developer_id IS NOT NULL ORDER BY 1 LIMIT 1")
    add_app_user("health-dev", "developer", developer=developer)
    at = open_page("pages/overview.py", user="health-dev")
    # the views hide runs and dead letters from a scoped user: "never" and 0 would be untrue
    assert metric(at, "Last ingest") == "—" and metric(at, "Dead letters") == "—"
    admin = open_page("pages/overview.py")
    assert metric(admin, "Last ingest") != "—"
    assert metric(admin, "Dead letters") == f"{scalar(db, 'SELECT count(*) FROM dead_letters'):,}"


def test_a_sessions_error_messages_and_model_costs_come_first_in_their_half_width_tables(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Side by side at a laptop's width each table shows ~5 columns: the message and the cost were
    scrolled out of sight behind span names and token counts."""
    session = scalar(db, """
        SELECT session_id FROM spans GROUP BY 1
        HAVING count(*) FILTER (WHERE is_error) > 0 AND sum(cost_usd) > 0 ORDER BY 1 LIMIT 1""")
    at = open_page("pages/sessions.py", session=session)
    errors = next(df for df in at.dataframe if "error_message" in df.value.columns)
    by_model = next(df for df in at.dataframe if "cost_share" in df.value.columns)
    assert list(errors.proto.column_order)[:3] == ["start_time", "tool_or_model", "error_message"]
    assert list(by_model.proto.column_order)[:3] == ["model", "cost_usd", "cost_share"]
    assert set(by_model.proto.column_order) == set(by_model.value.columns)
    assert set(errors.proto.column_order) == set(errors.value.columns)
