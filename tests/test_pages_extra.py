"""AppTest: the Sessions, Cost and Live pages on the sample lake, checked against independent SQL."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from conftest import add_app_user, assert_clean, log_in_as, open_page, scalar
from lens_etl import budgets
from lens_etl.budgets import Budget
from lens_etl.config import Settings
from pages._alerts_ui import ANOMALY_Z, ERROR_RATE_FLOOR, anomaly_points
from pages._common import fmt_usd

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("app_users")


def open_page_alone(page: str) -> AppTest:
    """The page script without app.py. Through app.py, every AppTest run of a switched-to page
    starts in Streamlit's legacy pages/ mode and pages/_common.py reruns it via app.py, which
    drops a button's click; run on its own, the page sees the click."""
    at = log_in_as(AppTest.from_file(str(ROOT / page), default_timeout=60))
    at.run()
    assert_clean(at)
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def window(at: AppTest) -> tuple[date, date]:
    """The shared filter window the page used, as [start, end) days."""
    filters = at.session_state["lens_filters"]
    return filters.start, filters.end + timedelta(days=1)


# --- Sessions ---

def test_session_in_the_url_opens_it_with_its_sql_cost(db: duckdb.DuckDBPyConnection) -> None:
    session = scalar(db, "SELECT session_id FROM sessions ORDER BY spans DESC, session_id LIMIT 1")
    at = open_page("pages/sessions.py", session=session)
    assert at.header[0].value == f"Session {session}"
    assert at.selectbox(key="sessions_pick").value == session
    cost = scalar(db, "SELECT sum(cost_usd) FROM spans WHERE session_id = ?", session)
    assert metric(at, "Cost") == fmt_usd(cost)
    assert metric(at, "Requests") == f"{scalar(db, 'SELECT count(*) FROM spans WHERE session_id = ? AND is_request', session):,}"
    assert at.query_params["session"] == session


def metric_rows(at: AppTest) -> list[list[str]]:
    """The labels of the KPI cards in each row of columns on the page, top to bottom."""
    rows = []
    for block in at.main.children.values():
        columns = [c for c in getattr(block, "children", {}).values() if getattr(c, "type", "") == "column"]
        labels = [m.label for column in columns for m in column.get("metric")]
        if labels:
            rows.append(labels)
    return rows


def test_session_kpis_sit_in_two_rows_that_fit_a_laptop(db: duckdb.DuckDBPyConnection) -> None:
    """Seven cards in one row truncated their values at 1366 px ("Cost $0.…", "Sub-age…")."""
    session = scalar(db, "SELECT session_id FROM sessions ORDER BY spans DESC, session_id LIMIT 1")
    rows = metric_rows(open_page("pages/sessions.py", session=session))
    assert rows == [["Cost", "Duration", "Requests", "Tokens"], ["Tool calls", "Sub-agents", "Errors"]]


def test_span_tree_holds_every_span_once_with_children_after_parents(db: duckdb.DuckDBPyConnection) -> None:
    session = scalar(db, """
        SELECT t.session_id FROM spans AS t JOIN spans AS c ON c.parent_span_id = t.span_id
        WHERE t.span_kind = 'TOOL' AND t.tool_name = 'Task'
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""") or scalar(db, "SELECT min(session_id) FROM sessions")
    tree = open_page("pages/sessions.py", session=session).dataframe(key="sessions_tree").value
    spans = dict(db.execute("SELECT span_id, parent_span_id FROM spans WHERE session_id = ?", [session]).fetchall())
    assert sorted(tree["span_id"]) == sorted(spans)
    position = {span_id: i for i, span_id in enumerate(tree["span_id"])}
    for span_id, parent in spans.items():
        if parent in spans:
            assert position[parent] < position[span_id]
    tasks = {s for (s,) in db.execute(
        "SELECT span_id FROM spans WHERE session_id = ? AND span_kind = 'TOOL' AND tool_name = 'Task'", [session]).fetchall()}
    sub_agent = tree.set_index("span_id")["in_sub_agent"]
    for span_id, parent in spans.items():
        if parent in tasks:
            assert sub_agent[span_id], f"{span_id} runs inside Task {parent}"
            assert tree.set_index("span_id").loc[span_id, "label"].startswith("\u2003" * 2)


def test_session_list_page_filters_are_bound_and_match_sql(db: duckdb.DuckDBPyConnection) -> None:
    at = open_page("pages/sessions.py")
    start, end = window(at)
    touched = "session_id IN (SELECT session_id FROM spans WHERE start_time >= ? AND start_time < ?)"
    total = scalar(db, f"SELECT count(*) FROM sessions WHERE {touched}", start, end)
    everyone = at.dataframe(key="sessions_table").value
    assert len(everyone) == total < 500 and f"{total:,} sessions" in [h.value for h in at.subheader]

    at.toggle(key="sessions_errors_only").set_value(True).run()
    at.number_input(key="sessions_min_cost").set_value(1.0).run()
    assert_clean(at)
    some = at.dataframe(key="sessions_table").value
    expected = scalar(db, f"SELECT count(*) FROM sessions WHERE {touched} AND errors > 0 AND cost_usd >= 1.0", start, end)
    assert 0 < len(some) == expected < len(everyone)
    assert (some["errors"] > 0).all() and (some["cost_usd"] >= 1.0).all()


def test_session_list_shows_the_top_of_the_chosen_order(db: duckdb.DuckDBPyConnection) -> None:
    """A long list is cut to the first rows of its order, and says how many match."""
    at = open_page("pages/sessions.py")
    start, end = window(at)
    touched = "session_id IN (SELECT session_id FROM spans WHERE start_time >= ? AND start_time < ?)"
    total = scalar(db, f"SELECT count(*) FROM sessions WHERE {touched}", start, end)
    at.selectbox(key="sessions_listed").set_value(100).run()
    at.selectbox(key="sessions_sort").set_value("cost").run()
    assert_clean(at)
    top = at.dataframe(key="sessions_table").value
    expected = [r[0] for r in db.execute(
        f"SELECT session_id FROM sessions WHERE {touched} ORDER BY coalesce(cost_usd, 0) DESC, started_at DESC, session_id "
        "LIMIT 100", [start, end]).fetchall()]
    assert total > 100 and list(top["session_id"]) == expected
    assert f"{total:,} sessions" in [h.value for h in at.subheader]
    assert any("Showing the first 100, sorted by cost" in c.value for c in at.caption)
    at.selectbox(key="sessions_listed").set_value(0).run()  # all
    assert len(at.dataframe(key="sessions_table").value) == total


def test_session_list_shows_durations_in_minutes_like_its_filters(db: duckdb.DuckDBPyConnection) -> None:
    """The filters take minutes (and Developers shows minutes): the list said "Duration (s)"."""
    at = open_page("pages/sessions.py")
    element = at.dataframe(key="sessions_table")
    listed = element.value.set_index("session_id")["duration_min"]
    seconds = dict(db.execute("SELECT session_id, duration_s FROM sessions WHERE list_contains(?, session_id)",
                              [list(listed.index)]).fetchall())
    assert listed.to_dict() == pytest.approx({s: seconds[s] / 60 for s in listed.index})
    assert "duration_s" not in element.value.columns


def test_session_list_names_no_team_and_shows_no_none(db: duckdb.DuckDBPyConnection) -> None:
    """An unmapped developer's sessions read "(no team)", as Overview and Cost say; other gaps "—"."""
    at = open_page("pages/sessions.py")
    start, end = window(at)
    unmapped = scalar(db, "SELECT count(*) FROM sessions WHERE team IS NULL AND session_id IN "
                          "(SELECT session_id FROM spans WHERE start_time >= ? AND start_time < ?)", start, end)
    element = at.dataframe(key="sessions_table")
    assert unmapped and (element.value["team"] == "(no team)").sum() == unmapped
    assert element.value["team"].notna().all() and element.proto.placeholder == "—"


# --- Cost ---

def test_cost_month_to_date_and_window_spend_equal_sql(db: duckdb.DuckDBPyConnection, no_budgets: Settings) -> None:
    at = open_page("pages/cost.py")
    start, end = window(at)
    as_of = scalar(db, "SELECT max(event_date) FROM spans WHERE start_time >= ? AND start_time < ?", start, end)
    month_start = as_of.replace(day=1)
    mtd = scalar(db, "SELECT sum(cost_usd) FROM spans WHERE start_time >= ? AND start_time < ?",
                 month_start, as_of + timedelta(days=1))
    assert metric(at, "Month to date") == fmt_usd(mtd)
    assert metric(at, "Spend in range") == fmt_usd(
        scalar(db, "SELECT sum(cost_usd) FROM spans WHERE start_time >= ? AND start_time < ?", start, end))
    assert len(at.get("vega_lite_chart")) >= 4


def test_cost_numbers_follow_the_sidebar_filters(db: duckdb.DuckDBPyConnection, no_budgets: Settings) -> None:
    developer = scalar(db, "SELECT developer_id FROM spans GROUP BY 1 ORDER BY sum(cost_usd) DESC LIMIT 1")
    at = open_page("pages/cost.py", developer=developer)
    start, end = window(at)
    assert at.session_state["lens_filters"].developers == (developer,)
    spend = scalar(db, "SELECT sum(cost_usd) FROM spans WHERE start_time >= ? AND start_time < ? AND developer_id = ?",
                   start, end, developer)
    total = scalar(db, "SELECT sum(cost_usd) FROM spans WHERE start_time >= ? AND start_time < ?", start, end)
    assert metric(at, "Spend in range") == fmt_usd(spend) != fmt_usd(total)
    by_developer = next(df.value for df in at.dataframe if "cost_per_request_usd" in df.value.columns)
    assert by_developer["developer_id"].tolist() == [developer]


def test_short_prompt_threshold_reaches_the_downshift_suggestion(db: duckdb.DuckDBPyConnection, no_budgets: Settings) -> None:
    """The savings queries start before the slider is drawn (from its key): a moved slider must
    still re-count the short requests at its new threshold on the rerun it causes."""
    def short_requests(at: AppTest) -> dict[str, int]:
        table = next(df.value for df in at.dataframe if "from_model" in df.value.columns)
        return dict(zip(table["from_model"], table["requests"]))

    def expected(at: AppTest, models: list[str], threshold: int) -> dict[str, int]:
        start, end = window(at)
        rows = db.execute(
            "SELECT model, count(*) FROM spans WHERE is_request AND cost_usd IS NOT NULL AND tokens_in < ? "
            "AND start_time >= ? AND start_time < ? AND list_contains(?, model) GROUP BY 1",
            [threshold, start, end, models]).fetchall()
        return dict(rows)

    at = open_page("pages/cost.py")
    before = short_requests(at)
    assert before and before == expected(at, list(before), 20_000)
    at.select_slider(key="cost_short_prompt").set_value(50_000).run()
    assert_clean(at)
    after = short_requests(at)
    assert after == expected(at, list(after), 50_000)
    assert sum(after.values()) > sum(before.values())


def test_budget_saved_in_the_editor_is_persisted_and_burns_down(
    db: duckdb.DuckDBPyConnection, no_budgets: Settings,
) -> None:
    developer = scalar(db, "SELECT developer_id FROM spans GROUP BY 1 ORDER BY sum(cost_usd) DESC LIMIT 1")
    at = open_page_alone("pages/cost.py")
    at.session_state["budget_editor"] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"scope": "developer", "name": developer, "monthly_usd": 0.5}, {"scope": "total", "monthly_usd": 1e6}],
    }
    at.run()
    at.button(key="budget_save").click().run()
    assert_clean(at)
    assert budgets.load(no_budgets) == [Budget("developer", developer, 0.5), Budget("total", "all", 1e6)]
    status = next(df.value for df in at.dataframe if "used_share" in df.value.columns).set_index("name")
    start, end = window(at)
    as_of = scalar(db, "SELECT max(event_date) FROM spans WHERE start_time >= ? AND start_time < ?", start, end)
    mtd = scalar(db, "SELECT sum(cost_usd) FROM spans WHERE developer_id = ? AND start_time >= ? AND start_time < ?",
                 developer, as_of.replace(day=1), as_of + timedelta(days=1))
    assert status.loc[developer, "mtd_usd"] == pytest.approx(mtd)
    assert status.loc[developer, "status"].endswith("over")
    assert status.loc["all", "status"].endswith("on track")
    assert any(developer in e.value for e in at.error)


def test_a_developer_sees_only_their_own_and_their_teams_budgets(
    db: duckdb.DuckDBPyConnection, no_budgets: Settings,
) -> None:
    people = db.execute("SELECT developer_id, team FROM spans WHERE team IS NOT NULL GROUP BY ALL "
                        "ORDER BY count(*) DESC, 1").fetchall()
    me, my_team = people[0]
    other, other_team = next(p for p in people if p[1] != my_team)
    everyone = [Budget("total", "all", 1e6), Budget("team", my_team, 555.0), Budget("team", other_team, 777.0),
                Budget("developer", me, 111.0), Budget("developer", other, 999.0)]
    budgets.save(no_budgets, everyone)
    add_app_user("budget-dev", "developer", developer=me, team=my_team)

    at = open_page("pages/cost.py", user="budget-dev")
    status = next(df.value for df in at.dataframe if "used_share" in df.value.columns)
    assert sorted(zip(status["scope"], status["name"])) == [("developer", me), ("team", my_team)]
    assert sorted(status["monthly_usd"]) == [111.0, 555.0]
    assert sorted(at.selectbox(key="burndown_pick").options) == sorted([f"developer · {me}", f"team · {my_team}"])
    shown = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.error, *at.warning, *at.info])
    assert other not in shown and other_team not in shown
    assert not any("Alert rules" in e.label for e in at.expander)

    at = open_page("pages/cost.py", user="analyst")
    status = next(df.value for df in at.dataframe if "used_share" in df.value.columns)
    assert len(status) == len(everyone)

    at = open_page("pages/live.py", user="budget-dev")  # rules name people and their budgets
    assert not any("Alert rules" in e.label for e in at.expander)
    assert any("Alert rules" in e.label for e in open_page("pages/live.py", user="analyst").expander)


def test_a_bad_budget_is_refused_with_one_line(no_budgets: Settings) -> None:
    at = open_page_alone("pages/cost.py")
    at.session_state["budget_editor"] = {
        "edited_rows": {}, "deleted_rows": [], "added_rows": [{"scope": "team", "name": "platform", "monthly_usd": -5}],
    }
    at.run()
    at.button(key="budget_save").click().run()
    assert [e.value for e in at.error] == ["budget row 1: monthly_usd must be a positive amount in USD, got -5"]
    assert budgets.load(no_budgets) == []


def test_model_comparison_calls_an_unknown_models_cost_unpriced(db: duckdb.DuckDBPyConnection, no_budgets: Settings) -> None:
    """An unknown model's cost is NULL, never 0, and reads "unpriced" (not "None"), named under the table."""
    at = open_page("pages/cost.py")
    start, end = window(at)
    unknown = [m for (m,) in db.execute(
        "SELECT model FROM spans WHERE start_time >= ? AND start_time < ? AND is_request GROUP BY 1 "
        "HAVING count(cost_usd) = 0 ORDER BY 1", [start, end]).fetchall()]
    assert unknown, "the sample lake has an unpriced model"
    element = next(df for df in at.dataframe if "cost_per_1k_tokens_usd" in df.value.columns)
    models = element.value.set_index("model")
    assert models.loc[unknown, ["cost_usd", "cost_per_request_usd"]].isna().all().all()
    assert models.drop(index=unknown)["cost_usd"].notna().all()
    assert element.proto.placeholder == "unpriced"
    assert any(c.value.startswith("Unpriced") and all(m in c.value for m in unknown) for c in at.caption)


# --- Live ---

def test_live_page_falls_back_to_the_last_activity(db: duckdb.DuckDBPyConnection, no_budgets: Settings) -> None:
    newest = scalar(db, "SELECT max(start_time) FROM spans")
    at = open_page("pages/live.py")
    assert any(f"Last activity was {newest:%Y-%m-%d %H:%M:%S} UTC" in w.value for w in at.warning)
    feed = next(df.value for df in at.dataframe if "span" in df.value.columns and "start_time" in df.value.columns)
    assert len(feed) == 50 and feed["start_time"].iloc[0] == newest
    element = next(df for df in at.dataframe if "span" in df.value.columns and "start_time" in df.value.columns)
    assert element.proto.placeholder == "—"  # a TOOL span's model, say, reads "—", not "None"
    active = next(df.value for df in at.dataframe if "last_activity" in df.value.columns)
    assert sorted(active["session_id"]) == sorted(s for (s,) in db.execute(
        "SELECT DISTINCT session_id FROM spans WHERE start_time >= ? AND start_time <= ?",
        [newest - timedelta(minutes=15), newest]).fetchall())


def test_live_builtin_alert_fires_for_a_developer_over_their_daily_budget(
    db: duckdb.DuckDBPyConnection, no_budgets: Settings,
) -> None:
    developer = scalar(db, """
        SELECT developer_id FROM spans WHERE event_date = (SELECT max(event_date) FROM spans) AND cost_usd > 0
        GROUP BY 1 ORDER BY sum(cost_usd) DESC LIMIT 1""")
    budgets.save(no_budgets, [Budget("developer", developer, 0.01)])
    at = open_page("pages/live.py")
    firing = [m.value for m in at.markdown if "firing" in m.value]
    assert len(firing) == 1 and "developer budget" in firing[0] and developer in firing[0]


def chart_layers(element: Any) -> list[tuple[dict, pd.DataFrame]]:
    """Each layer of a rendered Altair chart: its spec and its rows (Streamlit ships them as Arrow)."""
    spec = json.loads(element.proto.spec)
    data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets}
    return [(layer, data.get(layer.get("data", {}).get("name"), pd.DataFrame())) for layer in spec.get("layer", [spec])]


def test_live_charts_mark_the_buckets_far_from_the_window(no_budgets: Settings) -> None:
    """Both rolling charts carry a layer of red points: exactly the buckets whose robust z-score
    against the shown window exceeds the threshold (the error rate with its floor)."""
    at = open_page("pages/live.py")
    at.selectbox(key="live_hours").set_value(24).run()
    charts = [chart_layers(c) for c in at.get("vega_lite_chart")]
    for field, floor in (("error_rate", ERROR_RATE_FLOOR), ("p95_latency_ms", 1e-9)):
        (_, series), (marks, marked) = next(c for c in charts if c[0][0]["encoding"]["y"]["field"] == field)
        assert marks["mark"]["type"] == "point" and marks["mark"]["color"] == "#D62728"
        values = series[field].astype(float)
        median = np.nanmedian(values)
        scale = max(1.4826 * np.nanmedian(np.abs(values - median)), 0.1 * abs(median), floor)
        far = series[np.abs(values - median) / scale > ANOMALY_Z]
        assert len(series) == 24 * 12 + 1 and list(marked["bucket"]) == list(far["bucket"])


def test_anomaly_marks_an_error_burst_but_not_a_lone_failure() -> None:
    buckets = pd.date_range("2026-11-20", periods=72, freq="5min", tz="UTC")
    rng = np.random.default_rng(7)
    rate = rng.choice([0.0, 0.0, 0.0, 1 / 12, 1 / 9], size=72)  # lone failures among ~10 calls a bucket
    rate[40] = 0.45  # a burst
    marked = anomaly_points(pd.DataFrame({"bucket": buckets, "error_rate": rate}), y="error_rate", floor=ERROR_RATE_FLOOR).data
    assert list(marked["bucket"]) == [buckets[40]]
    latency = rng.normal(2000, 150, 72)
    latency[10] = 9000
    marked = anomaly_points(pd.DataFrame({"bucket": buckets, "p95": latency}), y="p95").data
    assert list(marked["bucket"]) == [buckets[10]]


def test_a_re_sorted_table_keeps_the_opened_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """The table keeps its selected row number across reruns: a new sort puts another session in
    that row, which must not open it; a row the user selects does."""
    from pages import _common

    state: dict[str, object] = {}
    monkeypatch.setattr(_common.st, "session_state", state)

    def selected(row: int | None) -> SimpleNamespace:
        return SimpleNamespace(selection=SimpleNamespace(rows=[] if row is None else [row]))

    _common.follow_table_selection(selected(0), ["newest", "older"], "pick")
    assert state["pick"] == "newest"
    _common.follow_table_selection(selected(0), ["costliest", "newest"], "pick")  # sorted by cost, row 0 still selected
    assert state["pick"] == "newest"
    _common.follow_table_selection(selected(1), ["costliest", "newest"], "pick")  # the user picks another row
    assert state["pick"] == "newest"
    _common.follow_table_selection(selected(None), ["costliest", "newest"], "pick")
    _common.follow_table_selection(selected(0), ["costliest", "newest"], "pick")
    assert state["pick"] == "costliest"
