"""Rollups equal the same aggregates over raw spans, stay current after every kind of run."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lens_etl import rollups, warehouse
from lens_etl.lake import Lake, write_parquet_atomic
from lens_etl.schema import SPAN_SCHEMA
from lens_etl.pipeline import ingest
from lens_etl.sources.files import read_files
from lens_etl.warehouse import connect_readonly

from etl_helpers import fixture, settings_for

FILES = ["arize_flat.jsonl", "phoenix_rest.json", "otlp.json", "spans.csv", "phoenix_df.parquet"]
DIMS = "event_date, developer_id, team, model, provider, service_name, repo_slug, project"
RAW_DAILY = f"""
SELECT {DIMS}, count(*) AS spans, count(*) FILTER (WHERE is_request) AS requests, count(*) FILTER (WHERE is_error) AS errors,
       count(*) FILTER (WHERE span_kind = 'TOOL') AS tool_calls, coalesce(sum(tokens_in), 0) AS tokens_in,
       coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, round(coalesce(sum(cost_usd), 0), 9) AS cost_usd,
       count(*) FILTER (WHERE accepted_flag) AS accepted_edits
FROM spans GROUP BY ALL ORDER BY ALL
"""
ROLLED_DAILY = f"""
SELECT {DIMS}, spans, requests, errors, tool_calls, tokens_in, cache_read_tokens, round(cost_usd, 9), accepted_edits
FROM daily_metrics ORDER BY ALL
"""
RAW_SESSIONS = """
SELECT session_id, developer_id, count(*) AS spans, count(DISTINCT trace_id) AS traces, count(*) FILTER (WHERE is_request) AS requests,
       round(sum(cost_usd), 9) AS cost, min(start_time) AS started_at
FROM spans GROUP BY ALL ORDER BY ALL
"""
ROLLED_SESSIONS = "SELECT session_id, developer_id, spans, traces, requests, round(cost_usd, 9), started_at FROM sessions ORDER BY ALL"


@pytest.fixture()
def lake(tmp_path: Path):
    settings = settings_for(tmp_path)
    ingest(settings, "file", "fixtures", read_files([fixture(n) for n in FILES], settings.batch_bytes))
    return settings


def test_daily_and_session_rollups_equal_raw_aggregates(lake) -> None:
    con = connect_readonly(lake.duckdb_path)
    assert con.execute(ROLLED_DAILY).fetchall() == con.execute(RAW_DAILY).fetchall()
    assert con.execute(ROLLED_SESSIONS).fetchall() == con.execute(RAW_SESSIONS).fetchall()
    hourly = con.execute("SELECT sum(spans), sum(tool_calls) FROM hourly_metrics").fetchone()
    assert hourly == con.execute("SELECT count(*), count(*) FILTER (WHERE span_kind = 'TOOL') FROM spans").fetchone()


def test_rebuild_recreates_identical_rollups(lake) -> None:
    before = connect_readonly(lake.duckdb_path).execute(ROLLED_DAILY).fetchall()
    for path in (lake.lake_dir / "rollups").rglob("*.parquet"):
        path.unlink()
    assert rollups.rebuild(lake) > 0
    warehouse.build(lake)
    assert connect_readonly(lake.duckdb_path).execute(ROLLED_DAILY).fetchall() == before


def test_a_rollup_older_than_its_spans_is_refreshed_by_the_next_run(lake) -> None:
    day_dirs = sorted((lake.lake_dir / "rollups" / "hourly_metrics").iterdir())
    (day_dirs[0] / "rollup.parquet").unlink()  # as if the run had been killed before its rollups
    assert rollups.stale_days(lake)
    ingest(lake, "file", "again", read_files([fixture("otlp.json")], lake.batch_bytes))  # duplicates only
    assert not rollups.stale_days(lake)
    con = connect_readonly(lake.duckdb_path)
    assert con.execute(ROLLED_DAILY).fetchall() == con.execute(RAW_DAILY).fetchall()


def test_filtered_metrics_equals_the_hourly_rollup_on_any_window(lake) -> None:
    """filtered_metrics reads whole days from daily_metrics and the edge hours from hourly_metrics
    (filtered_tool_calls: tool_calls_daily and tool_calls): whatever the window (aligned, mid-day
    edges, inside one day, empty), its sums are the hourly ones."""
    con = connect_readonly(lake.duckdb_path)
    hours = [row[0] for row in con.execute("SELECT DISTINCT hour FROM hourly_metrics ORDER BY 1").fetchall()]
    # every window from one data hour to the end of another (edges mid-day, inside one day, aligned)
    edges = sorted({*hours, *(h + timedelta(hours=1) for h in hours), *(datetime.combine(h.date(), datetime.min.time()) for h in hours)})
    windows = [(a, b) for a in edges for b in edges if a <= b]
    assert len({h.date() for h in hours}) > 1 and len(windows) > 100
    measures = "count(DISTINCT developer_id), sum(spans), sum(requests), sum(tokens_in), round(sum(cost_usd), 9), sum(accepted_lines)"
    tool_measures = "count(DISTINCT tool_name), sum(calls), sum(failures), sum(edits), sum(edit_lines), round(sum(diff_ratio_sum), 9)"
    for start, end in windows:
        args = "$start, $end, [], [], [], [], []"
        daily = con.execute(f"SELECT {measures} FROM filtered_metrics({args})", {"start": start, "end": end}).fetchone()
        hourly = con.execute(f"SELECT {measures} FROM filtered_hourly({args})", {"start": start, "end": end}).fetchone()
        assert daily == hourly, (start, end)
        # the same split for tool calls: whole days from tool_calls_daily, edge hours from tool_calls
        daily = con.execute(f"SELECT {tool_measures} FROM filtered_tool_calls({args})", {"start": start, "end": end}).fetchone()
        hourly = con.execute(f"SELECT {tool_measures} FROM filtered_tool_calls_hourly({args})", {"start": start, "end": end}).fetchone()
        assert daily == hourly, ("tool calls", start, end)
    assert con.execute("SELECT sum(spans) FROM daily_metrics").fetchone() == con.execute("SELECT count(*) FROM spans").fetchone()


def test_changed_rollup_queries_make_every_day_stale(lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """After an upgrade that changes a rollup query or layout, the next run recomputes every day's
    rollups and removes files laid out the old way."""
    reader = Lake(lake.spans_dir, "look", recover=False)
    days = reader.partitions()
    reader.close()
    assert days and not rollups.stale_days(lake)
    legacy = rollups.rollup_dir(lake, "hourly_metrics") / "months"  # an older layout's files
    shutil.copytree(rollups.rollup_dir(lake, "hourly_metrics") / rollups.PERIODS_DIR, legacy)
    monkeypatch.setattr(rollups, "definitions_digest", lambda: "a newer release")
    assert rollups.stale_days(lake) == days
    rollups.refresh_stale(lake)
    assert not rollups.stale_days(lake) and not legacy.exists()
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    assert con.execute(ROLLED_DAILY).fetchall() == con.execute(RAW_DAILY).fetchall()


def test_views_unify_file_schemas_only_when_they_differ(lake) -> None:
    """Same-schema span files are read without unifying by name (it reads every footer on every
    query); a file from an older release, lacking a column, switches it back on and still reads."""
    spans_relation = warehouse.files_relation(lake.spans_dir, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True)
    assert "union_by_name = false" in spans_relation
    con = connect_readonly(lake.duckdb_path)
    total, with_repo = con.execute("SELECT count(*), count(repo_slug) FROM spans").fetchone()
    con.close()
    older = sorted(lake.spans_dir.glob("event_date=*/*.parquet"))[0]
    table = pq.read_table(older)
    write_parquet_atomic(table.drop_columns(["repo_slug"]), older)
    assert "union_by_name = true" in warehouse.files_relation(lake.spans_dir, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True)
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    assert con.execute("SELECT count(*) FROM spans").fetchone() == (total,)
    assert con.execute("SELECT count(repo_slug) FROM spans").fetchone()[0] == with_repo - (
        table.num_rows - table["repo_slug"].null_count)
    con.close()


def test_rollup_files_are_unified_by_name_only_when_older_queries_wrote_them(lake) -> None:
    """Period files written by the current rollup queries share a schema (their footers are not
    read to tell); after an upgrade that changed a query, and until the rebuild, they may not."""
    assert "union_by_name = false" in warehouse.rollup_relation(lake, "tool_calls")
    older = sorted((lake.lake_dir / "rollups" / "tool_calls" / "periods").glob("*.parquet"))[0]
    write_parquet_atomic(pq.read_table(older).drop_columns(["edits"]), older)
    rollups._definitions_file(lake).write_text("a digest of older queries\n", encoding="utf-8")
    assert "union_by_name = true" in warehouse.rollup_relation(lake, "tool_calls")
    rollups.refresh_stale(lake)
    assert "union_by_name = false" in warehouse.rollup_relation(lake, "tool_calls")
    assert "edits" in pq.read_schema(older).names


def test_views_work_before_any_rollup_exists(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    warehouse.build(settings)
    con = connect_readonly(settings.duckdb_path)
    assert con.execute("SELECT count(*) FROM hourly_metrics").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def _llm_call(span_id: str, start_ms: int, status: str, tokens_in: float | None) -> str:
    record = {
        "name": "litellm_request", "span_kind": "LLM", "start_time": start_ms, "end_time": start_ms + 2_000,
        "status_code": status, "status_message": "litellm.RateLimitError: slow down" if status == "ERROR" else "",
        "context.span_id": span_id, "context.trace_id": "t-" + span_id, "attributes.session.id": "sess-midnight",
        "attributes.llm.provider": "anthropic", "attributes.llm.model_name": "claude-sonnet-4-5-20250929",
        "attributes.llm.token_count.prompt": tokens_in, "attributes.llm.token_count.completion": 10.0 if tokens_in else None,
    }
    return json.dumps(record)


def test_a_retry_after_midnight_ingested_later_marks_the_failed_call_retried(tmp_path: Path) -> None:
    """cost_savings looks ahead a day: ingesting the retry refreshes the failed call's day too."""
    settings = settings_for(tmp_path)
    midnight = int(datetime(2026, 11, 3, tzinfo=timezone.utc).timestamp() * 1000)
    first, second = tmp_path / "failed.jsonl", tmp_path / "retry.jsonl"
    first.write_text(_llm_call("f1", midnight - 60_000, "ERROR", None) + "\n", encoding="utf-8")
    second.write_text(_llm_call("r1", midnight + 30_000, "OK", 12_000.0) + "\n", encoding="utf-8")
    query = "SELECT sum(calls), sum(retried), sum(retry_uncached_in) FROM cost_savings WHERE kind = 'failed'"
    ingest(settings, "file", "failed", read_files([first], settings.batch_bytes))
    assert connect_readonly(settings.duckdb_path).execute(query).fetchone() == (1, 0, 0)
    ingest(settings, "file", "retry", read_files([second], settings.batch_bytes))
    assert connect_readonly(settings.duckdb_path).execute(query).fetchone() == (1, 1, 12_000)


def test_no_rollup_reads_the_columns_refresh_leaves_unread() -> None:
    for name in rollups.ROLLUPS:
        sql = (warehouse.SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")
        assert not [column for column in rollups.UNREAD if column in sql], name


def test_the_views_read_on_while_rollups_are_rebuilt(lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild replaces the files the views read one at a time (an app on a year of spans would
    otherwise fail for minutes), and drops the rollups of days the lake no longer holds."""
    before = connect_readonly(lake.duckdb_path).execute(ROLLED_DAILY).fetchall()
    read_during: list[object] = []
    refresh = rollups.refresh

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        read_during.append(connect_readonly(lake.duckdb_path).execute(ROLLED_DAILY).fetchall())
        return refresh(*args, **kwargs)

    monkeypatch.setattr(rollups, "refresh", watched)
    assert rollups.rebuild(lake) > 0
    assert read_during == [before]
    first_day = min(day for (day, *_rest) in before)
    shutil.rmtree(lake.spans_dir / f"event_date={first_day}")  # e.g. dropped by hand
    rollups.rebuild(lake)
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    assert con.execute(ROLLED_DAILY).fetchall() == con.execute(RAW_DAILY).fetchall()
    assert first_day not in {row[0] for row in con.execute(ROLLED_DAILY).fetchall()}
