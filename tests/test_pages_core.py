"""AppTest: app.py with the Overview, Developers, Models and Tools pages on the sample lake.

Numbers on screen are checked against independent SQL over the `spans` view, so a page
that drifts from the data (or from its own query file) fails here.
"""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from conftest import assert_clean, log_in_as, scalar
from lens_etl.config import Settings
from lens_etl import warehouse

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/overview.py", "pages/developers.py", "pages/models.py", "pages/tools.py"]


@pytest.fixture
def app(sample_settings: Settings, app_users: Path) -> AppTest:
    return log_in_as(AppTest.from_file(APP, default_timeout=30))


def default_window(db: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The documented default: the 30 days ending on the newest span's day."""
    newest = scalar(db, "SELECT CAST(max(start_time) AS DATE) FROM spans")
    return newest - timedelta(days=29), newest


def in_window(db: duckdb.DuckDBPyConnection, expr: str, start: date, end: date, where: str = "true",
              *params: Any) -> Any:
    return scalar(db, f"SELECT {expr} FROM spans WHERE start_time >= ? AND start_time < ? AND {where}",
                  start, end + timedelta(days=1), *params)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_overview_kpis_equal_independent_sql(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    app.run()
    assert_clean(app)
    start, end = default_window(db)
    assert number(metric(app, "Cost")) == pytest.approx(in_window(db, "sum(cost_usd)", start, end), abs=0.005)
    assert number(metric(app, "Requests")) == in_window(db, "count(*) FILTER (WHERE is_request)", start, end)
    assert number(metric(app, "Active developers")) == in_window(db, "count(DISTINCT developer_id)", start, end)
    assert number(metric(app, "Sessions")) == in_window(db, "count(DISTINCT session_id)", start, end)


def test_the_error_rate_counts_model_calls_not_claude_codes_synthesized_spans(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    """A model call is a request or a failed LLM call; the prompt and output spans Claude Code
    synthesizes under a request (LLM spans too, in the samples) are not calls of their own."""
    start, end = default_window(db)
    failed = "span_kind = 'LLM' AND status = 'ERROR' AND name <> 'raw_gen_ai_request'"
    synthesized = in_window(db, "count(*)", start, end, "span_kind = 'LLM' AND name LIKE 'Claude_Code_%'")
    assert synthesized > 1000  # the samples hold them, so counting them would show
    rate = in_window(db, f"count(*) FILTER (WHERE {failed}) / count(*) FILTER (WHERE is_request OR ({failed}))", start, end)
    app.run()
    assert number(metric(app, "Error rate")) == pytest.approx(100 * rate, abs=0.05)


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_charts_without_exceptions(app: AppTest, page: str) -> None:
    app.run()
    app.switch_page(page).run()
    assert_clean(app)
    assert app.get("vega_lite_chart"), f"{page}: no chart"
    assert app.sidebar.multiselect, f"{page}: the sidebar filters are missing"


def test_one_model_filter_changes_the_numbers(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    start, end = default_window(db)
    model = in_window(db, "mode(model)", start, end, "is_request")
    app.run()
    all_requests = number(metric(app, "Requests"))
    app.multiselect(key="lens_models").set_value([model]).run()
    assert_clean(app)
    requests = number(metric(app, "Requests"))
    assert requests == in_window(db, "count(*) FILTER (WHERE is_request)", start, end, "model = ?", model)
    assert 0 < requests < all_requests
    cost = in_window(db, "sum(cost_usd)", start, end, "model = ?", model)
    assert number(metric(app, "Cost")) == pytest.approx(cost, abs=0.005)
    assert app.query_params["model"] == model


def test_query_params_seed_the_filters_and_are_written_back(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    team = scalar(db, "SELECT min(team) FROM spans")
    model = scalar(db, "SELECT min(model) FROM spans")
    app.query_params["range"] = "7d"
    app.query_params["team"] = team
    app.query_params["model"] = [model, "no-such-model"]
    app.run()
    assert_clean(app)
    filters = app.session_state["lens_filters"]
    newest = default_window(db)[1]
    assert (filters.start, filters.end) == (newest - timedelta(days=6), newest)
    assert filters.teams == (team,) and filters.models == (model,)  # unknown values are dropped
    assert app.query_params["range"] == "7d"
    assert app.query_params["team"] == team and app.query_params["model"] == model
    assert app.query_params["start"] == filters.start.isoformat()
    assert app.query_params["end"] == filters.end.isoformat()
    requests = in_window(db, "count(*) FILTER (WHERE is_request)", filters.start, filters.end,
                         "team = ? AND model = ?", team, model)
    assert number(metric(app, "Requests")) == requests


def test_custom_dates_from_the_url_survive_a_page_switch(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    newest = default_window(db)[1]
    start, end = newest - timedelta(days=9), newest - timedelta(days=3)
    app.query_params["start"] = start.isoformat()
    app.query_params["end"] = end.isoformat()
    app.run()
    assert app.session_state["lens_range"] == "custom"
    assert number(metric(app, "Cost")) == pytest.approx(in_window(db, "sum(cost_usd)", start, end), abs=0.005)
    app.switch_page("pages/tools.py").run()
    assert_clean(app)
    assert (app.session_state["lens_filters"].start, app.session_state["lens_filters"].end) == (start, end)
    assert (app.query_params["start"], app.query_params["end"]) == (start.isoformat(), end.isoformat())
    assert number(metric(app, "Tool calls")) == in_window(db, "count(*)", start, end, "span_kind = 'TOOL'")


def test_developers_table_matches_sql_and_search_narrows_it(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    app.run()
    app.switch_page("pages/developers.py").run()
    assert_clean(app)
    start, end = default_window(db)
    table = app.dataframe[0].value.set_index("developer")
    expected = db.execute(
        "SELECT coalesce(developer_id, '(unknown)'), sum(cost_usd), count(*) FILTER (WHERE is_request) FROM spans "
        "WHERE start_time >= ? AND start_time < ? GROUP BY 1", [start, end + timedelta(days=1)]).fetchall()
    assert len(table) == len(expected)
    for developer, cost, requests in expected:
        assert table.loc[developer, "cost_usd"] == pytest.approx(cost or 0)
        assert table.loc[developer, "requests"] == requests
    team = table["team"].dropna().iloc[0]
    app.text_input(key="developer_search").input(team).run()
    narrowed = app.dataframe[0].value
    assert 0 < len(narrowed) < len(table) and set(narrowed["team"]) == {team}


def test_models_page_counts_requests_per_model(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    app.run()
    app.switch_page("pages/models.py").run()
    assert_clean(app)
    start, end = default_window(db)
    latency = app.dataframe[0].value.set_index("model")
    expected = dict(db.execute(
        "SELECT model, count(*) FILTER (WHERE is_request) FROM spans WHERE start_time >= ? AND start_time < ? "
        "AND model IS NOT NULL GROUP BY 1", [start, end + timedelta(days=1)]).fetchall())
    assert latency["requests"].to_dict() == expected


@pytest.mark.parametrize("views", [False, True], ids=["no database", "empty lake"])
def test_no_data_shows_the_empty_state(app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       views: bool) -> None:
    if views:
        warehouse.build(Settings(data_dir=tmp_path))
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path))
    app.run()
    assert not app.exception
    assert any("lens_etl ingest files" in i.value for i in app.info)


def arc_specs(at: AppTest) -> list[dict]:
    """The Vega-Lite specs of the page's arc (pie and donut) charts."""
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return [s for s in specs if s.get("mark", {}).get("type") == "arc"]


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/developers.py"])
def test_model_share_donut_keeps_its_ring_in_a_narrow_column(app: AppTest, page: str) -> None:
    """A legend beside the ring (long model names) left the plot ~100 px, and a fixed inner radius
    of 50 px then left a ring 0.16 px thick: the legend goes below and both radii follow the plot."""
    app.run()
    app.switch_page(page).run()
    assert_clean(app)
    (spec,) = arc_specs(app)
    assert spec["encoding"]["color"]["legend"]["orient"] == "bottom"
    radius, inner = spec["mark"]["radius"], spec["mark"]["innerRadius"]
    assert "width" in radius["expr"] and "height" in radius["expr"]
    assert inner["expr"].startswith("0.") and radius["expr"] in inner["expr"]


def unpriced_models(db: duckdb.DuckDBPyConnection, start: date, end: date) -> set[str]:
    """Models with usage in the window and no priced span: their cost is unknown."""
    return {m for (m,) in db.execute(
        "SELECT model FROM spans WHERE start_time >= ? AND start_time < ? AND model IS NOT NULL "
        "GROUP BY 1 HAVING count(cost_usd) = 0", [start, end + timedelta(days=1)]).fetchall()}


def test_model_share_says_unpriced_for_a_model_without_a_price(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    """An unknown model's cost is NULL, never 0: its tooltip said "$0.00 / 0.0%"."""
    unknown = unpriced_models(db, *default_window(db))
    assert unknown, "the sample lake has an unpriced model"
    app.run()
    (element,) = [c for c in app.get("vega_lite_chart") if json.loads(c.proto.spec).get("mark", {}).get("type") == "arc"]
    rows = pa.ipc.open_stream(element.proto.datasets[0].data.data).read_all().to_pandas().set_index("model")
    tooltips = {t["field"]: t for t in json.loads(element.proto.spec)["encoding"]["tooltip"] if "field" in t}
    assert tooltips["cost"]["title"] == "Cost (USD)" and tooltips["of_cost"]["title"] == "Share of cost"
    for model, row in rows.iterrows():
        if model in unknown:
            assert row["cost_usd"] != row["cost_usd"] and (row["cost"], row["of_cost"]) == ("unpriced", "unpriced")
        else:
            assert row["cost"].startswith("$") and row["of_cost"].endswith("%")


def test_developers_table_names_no_team_and_shows_no_none(app: AppTest, db: duckdb.DuckDBPyConnection) -> None:
    """An unmapped developer's team reads "(no team)" as on Overview and Cost; other gaps read "—"."""
    start, end = default_window(db)
    unmapped = {d for (d,) in db.execute(
        "SELECT developer_id FROM spans WHERE start_time >= ? AND start_time < ? GROUP BY 1 HAVING count(team) = 0",
        [start, end + timedelta(days=1)]).fetchall()}
    assert unmapped, "the sample lake has a developer with no team"
    app.run()
    app.switch_page("pages/developers.py").run()
    element = app.dataframe[0]
    teams = element.value.set_index("developer")["team"]
    assert teams.notna().all() and set(teams[list(unmapped)]) == {"(no team)"}
    assert element.proto.placeholder == "—"
    app.text_input(key="developer_search").set_value("no team").run()  # what the table shows finds them
    assert set(app.dataframe[0].value["developer"]) == unmapped


def test_tokens_per_request_draws_prompt_and_completion_on_their_own_axes(app: AppTest) -> None:
    """On one shared axis the completion bars were ~1/170 of the prompt bars: invisible."""
    app.run()
    app.switch_page("pages/models.py").run()
    assert_clean(app)
    fields = [json.loads(c.proto.spec).get("encoding", {}).get("x", {}).get("field") for c in app.get("vega_lite_chart")]
    assert "avg_tokens_in" in fields and "avg_tokens_out" in fields
    assert "tokens" not in fields  # no chart shares one axis between both directions


def test_a_page_view_is_audited_with_its_filters_as_iso_json(app: AppTest, db: duckdb.DuckDBPyConnection,
                                                              sample_settings: Settings) -> None:
    """The Audit page's Detail read `Filters(start=datetime.date(2026, 10, 26), …)`: a Python repr."""
    app.query_params["range"] = "7d"
    app.query_params["team"] = scalar(db, "SELECT min(team) FROM spans")
    app.run()
    filters = app.session_state["lens_filters"]
    newest = max(sample_settings.audit_dir.glob("*-view-*.parquet"))
    detail = json.loads(pq.read_table(newest).column("detail")[0].as_py())
    assert detail == {"filters": {"start": filters.start.isoformat(), "end": filters.end.isoformat(),
                                  "teams": list(filters.teams)}}
