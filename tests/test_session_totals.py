"""The session totals behind `sessions` stay equal to the same sums over raw spans when an ingest
adds to a session on another day, moves its first day into an earlier period, a day is dropped,
or a run dies before the totals were written."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lens_etl import rollups, session_totals, warehouse
from lens_etl.config import Settings
from lens_etl.lake import partition_dir
from lens_etl.pipeline import ingest
from lens_etl.sources.files import read_files
from lens_etl.warehouse import connect_readonly

from etl_helpers import settings_for

RAW = """
SELECT session_id, arg_min(developer_id, start_time), count(*), count(DISTINCT trace_id),
       count(*) FILTER (WHERE is_request), round(sum(cost_usd), 9), min(start_time),
       max(coalesce(end_time, start_time)), min(event_date), max(event_date),
       list_sort(list_distinct(list(model) FILTER (WHERE model IS NOT NULL)))
FROM spans GROUP BY session_id ORDER BY ALL
"""
ROLLED = """
SELECT session_id, developer_id, spans, traces, requests, round(cost_usd, 9), started_at, ended_at,
       first_day, last_day, models
FROM sessions ORDER BY ALL
"""
MODELS = ("claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")


def _call(span_id: str, session: str, at: datetime, model: str = MODELS[0], trace: str | None = None) -> str:
    start_ms = int(at.timestamp() * 1000)
    return json.dumps({
        "name": "litellm_request", "span_kind": "LLM", "start_time": start_ms, "end_time": start_ms + 2_000,
        "status_code": "OK", "context.span_id": span_id, "context.trace_id": trace or f"t-{span_id}",
        "attributes.session.id": session, "attributes.user.id": f"dev-{session}",
        "attributes.llm.provider": "anthropic", "attributes.llm.model_name": model,
        "attributes.llm.token_count.prompt": 1_000.0, "attributes.llm.token_count.completion": 100.0,
    })


def _ingest(settings: Settings, tmp_path: Path, name: str, *lines: str) -> None:
    export = tmp_path / f"{name}.jsonl"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(settings, "file", name, read_files([export], settings.batch_bytes))


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def _assert_equal_to_raw(settings: Settings) -> None:
    con = connect_readonly(settings.duckdb_path)
    assert con.execute(ROLLED).fetchall() == con.execute(RAW).fetchall()
    assert con.execute("SELECT count(*) = count(DISTINCT session_id) FROM sessions").fetchone() == (True,)


def _sessions_in(settings: Settings, period: str) -> list[str]:
    path = session_totals.folder(settings) / "periods" / f"{period}.parquet"
    return sorted(pq.read_table(path, columns=["session_id"]).column(0).to_pylist()) if path.exists() else []


@pytest.fixture()
def lake(tmp_path: Path) -> Settings:
    """Session a spans midnight of 11-11 (two traces, two models); b is on the 12th, c on the 5th."""
    settings = settings_for(tmp_path / "data")
    _ingest(settings, tmp_path, "first",
            _call("a1", "a", _at(11, 10), trace="ta"), _call("a2", "a", _at(11, 23, 59), MODELS[1], trace="ta"),
            _call("a3", "a", _at(12, 0, 30)), _call("b1", "b", _at(12, 9)), _call("c1", "c", _at(5, 9)))
    return settings


def test_totals_are_kept_by_the_period_of_the_first_day(lake: Settings) -> None:
    _assert_equal_to_raw(lake)
    assert _sessions_in(lake, "2026-11-1") == ["c"]
    assert _sessions_in(lake, "2026-11-2") == ["a", "b"]
    con = connect_readonly(lake.duckdb_path)
    assert con.execute("SELECT traces, models FROM sessions WHERE session_id = 'a'").fetchone() == (2, ["claude-haiku-4-5", "claude-sonnet-4-5"])  # names normalized


def test_an_ingest_adds_up_again_only_the_sessions_it_touched_wherever_their_days_are(lake: Settings, tmp_path: Path) -> None:
    """A late span on the 10th moves a's first day into the previous period; a span on the 13th
    extends it; b is untouched; d is new."""
    untouched = (session_totals.folder(lake) / "periods" / "2026-11-1.parquet").stat().st_mtime_ns
    _ingest(lake, tmp_path, "second", _call("a0", "a", _at(10, 22)), _call("a4", "a", _at(13, 8)),
            _call("d1", "d", _at(13, 9)))
    _assert_equal_to_raw(lake)
    assert _sessions_in(lake, "2026-11-1") == ["a", "c"]
    assert _sessions_in(lake, "2026-11-2") == ["b", "d"]
    assert (session_totals.folder(lake) / "periods" / "2026-11-1.parquet").stat().st_mtime_ns > untouched
    con = connect_readonly(lake.duckdb_path)
    assert con.execute("SELECT spans, first_day, last_day FROM sessions WHERE session_id = 'a'").fetchone() == (
        5, date(2026, 11, 10), date(2026, 11, 13))


def test_a_dropped_day_leaves_its_sessions_totals_without_it(lake: Settings) -> None:
    for day in (date(2026, 11, 11), date(2026, 11, 5)):
        shutil.rmtree(partition_dir(lake.spans_dir, day))
    rollups.refresh(lake, [date(2026, 11, 11), date(2026, 11, 5)])  # what retention does after dropping
    warehouse.build(lake)
    _assert_equal_to_raw(lake)
    assert _sessions_in(lake, "2026-11-1") == []
    con = connect_readonly(lake.duckdb_path)
    assert con.execute("SELECT spans, first_day FROM sessions WHERE session_id = 'a'").fetchone() == (1, date(2026, 11, 12))


def test_a_run_killed_before_the_totals_is_caught_up_by_the_next(lake: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(*_args, **_kwargs) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(session_totals, "refresh", killed)
    with pytest.raises(KeyboardInterrupt):
        _ingest(lake, tmp_path, "killed", _call("a5", "a", _at(14, 8)), _call("e1", "e", _at(14, 9)))
    monkeypatch.undo()
    assert not session_totals.is_current(lake)
    _ingest(lake, tmp_path, "again", _call("b2", "b", _at(12, 10)))  # touches b only
    assert session_totals.is_current(lake)
    _assert_equal_to_raw(lake)
    assert _sessions_in(lake, "2026-11-2") == ["a", "b", "e"]


def test_without_totals_files_sessions_are_added_up_from_the_days(lake: Settings) -> None:
    """A lake whose ETL wrote no session totals (another engine's) still has its sessions."""
    shutil.rmtree(session_totals.folder(lake))
    warehouse.build(lake)
    _assert_equal_to_raw(lake)


def test_sessions_added_up_in_several_passes_are_the_same(lake: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A lake too large to add up at once is added up a share of the sessions at a time: every
    session once, with all its days (a spans three days and two periods), on a full rebuild and on
    an ingest that touches some sessions."""
    before = sorted(pq.read_table(session_totals.folder(lake) / "periods").to_pylist(), key=lambda r: r["session_id"])
    monkeypatch.setattr(session_totals, "ROWS_PER_PASS", 2)  # the fixture's 6 session_days rows: 3 passes
    session_totals.refresh(lake, [], everything=True)
    after = sorted(pq.read_table(session_totals.folder(lake) / "periods").to_pylist(), key=lambda r: r["session_id"])
    assert after == before
    _ingest(lake, tmp_path, "second", _call("a0", "a", _at(10, 22)), _call("d1", "d", _at(13, 9)))
    _assert_equal_to_raw(lake)
