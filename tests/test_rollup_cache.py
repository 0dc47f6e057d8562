"""The rollups' copies in the DuckDB file: the views read them, and every build brings them in
step with the period files, reading again only the files that changed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from lens_etl import rollups, warehouse
from lens_etl.config import Settings
from lens_etl.lake import write_parquet_atomic
from lens_etl.pipeline import ingest
from lens_etl.schema import ALERT_EVENT_SCHEMA
from lens_etl.sources.files import read_files
from lens_etl.warehouse import connect_readonly

from etl_helpers import fixture, settings_for

FILES = ["arize_flat.jsonl", "phoenix_rest.json", "otlp.json", "spans.csv", "phoenix_df.parquet"]


@pytest.fixture()
def lake(tmp_path: Path) -> Settings:
    settings = settings_for(tmp_path / "data")
    ingest(settings, "file", "fixtures", read_files([fixture(n) for n in FILES], settings.batch_bytes))
    return settings


def period_files(settings: Settings, name: str) -> list[Path]:
    return sorted((settings.lake_dir / "rollups" / name / "periods").glob("*.parquet"))


def cached_rows(settings: Settings, name: str, where: str = "true") -> list[tuple]:
    con = connect_readonly(settings.duckdb_path)
    try:
        return con.execute(f"SELECT * EXCLUDE (lens_file) FROM rollup_cache.{name} WHERE {where} ORDER BY ALL").fetchall()
    finally:
        con.close()


def file_rows(files: list[Path], hive: bool = False) -> list[tuple]:
    listed = ", ".join(f"'{f}'" for f in files)
    days = ", hive_partitioning = true, hive_types = {'event_date': DATE}" if hive else ""
    return duckdb.connect().execute(f"SELECT * FROM read_parquet([{listed}], union_by_name = true{days}) ORDER BY ALL").fetchall()


def day_files(settings: Settings, name: str) -> list[Path]:
    return sorted((settings.lake_dir / "rollups" / name).glob("event_date=*/*.parquet"))


def tamper(settings: Settings, name: str, day: str) -> None:
    """Change a day's cached rows (not its file): a build that reads the file again undoes it."""
    con = duckdb.connect(str(settings.duckdb_path))
    try:
        con.execute(f"UPDATE rollup_cache.{name} SET requests = 999 WHERE event_date = ?", [day])
    finally:
        con.close()


def requests_on(settings: Settings, day: str) -> set[int]:
    con = connect_readonly(settings.duckdb_path)
    try:
        return {row[0] for row in con.execute("SELECT requests FROM rollup_cache.daily_metrics WHERE event_date = ?",
                                              [day]).fetchall()}
    finally:
        con.close()


def new_span_line(span_id: str, start_ms: int) -> str:
    return json.dumps({"name": "litellm_request", "span_kind": "LLM", "start_time": start_ms, "end_time": start_ms + 900,
                       "status_code": "OK", "context.span_id": span_id, "context.trace_id": f"t{span_id:0>31}",
                       "attributes.llm.model_name": "claude-sonnet-4-5-20250929", "attributes.session.id": "sess-cache-1",
                       "attributes.user.id": "alice@example.com", "attributes.llm.token_count.prompt": 10.0,
                       "attributes.llm.token_count.completion": 5.0})


def test_every_rollup_view_reads_its_cached_copy_of_the_period_files(lake: Settings) -> None:
    con = connect_readonly(lake.duckdb_path)
    try:
        view = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'daily_metrics'").fetchone()[0]
        cached = {row[0] for row in con.execute("SELECT DISTINCT rollup FROM rollup_cache.files").fetchall()}
    finally:
        con.close()
    assert "rollup_cache.daily_metrics" in view and "read_parquet" not in view
    with_files = {name for name in warehouse.rollup_names() if period_files(lake, name)}
    assert cached == with_files - set(warehouse.UNCACHED)
    assert {"daily_metrics", "session_totals"} <= cached and "session_days" not in cached
    for name in sorted(cached):
        assert cached_rows(lake, name) == file_rows(period_files(lake, name)), name


def test_a_build_reads_again_only_the_files_an_ingest_rewrote(lake: Settings, tmp_path: Path) -> None:
    for day in ("2025-11-23", "2025-11-24", "2026-11-22", "2026-11-23"):
        tamper(lake, "daily_metrics", day)
    export = tmp_path / "late.jsonl"
    export.write_text(new_span_line("f00dcafe00000001", 1763990000000) + "\n", encoding="utf-8")  # 2025-11-24
    ingest(lake, "file", "late", read_files([export], lake.batch_bytes))

    assert 999 not in requests_on(lake, "2025-11-24")  # the day the ingest wrote: read again
    for day in ("2025-11-23", "2026-11-22", "2026-11-23"):  # the others were not
        assert requests_on(lake, day) == {999}, day
    newest = day_files(lake, "daily_metrics")[-1]
    assert newest.parent.name == "event_date=2026-11-23"
    os.utime(newest)  # rewritten as far as anyone can tell: read again
    warehouse.build(lake)
    assert 999 not in requests_on(lake, "2026-11-23") | requests_on(lake, "2025-11-24")
    assert requests_on(lake, "2026-11-22") == {999}
    assert cached_rows(lake, "daily_metrics", "event_date <> '2025-11-23' AND event_date <> '2026-11-22'") == [
        row for row in file_rows(day_files(lake, "daily_metrics"), hive=True)
        if str(row[-1]) not in ("2025-11-23", "2026-11-22")]


def test_a_removed_day_leaves_the_cache(lake: Settings) -> None:
    first = day_files(lake, "tool_calls")[0]
    shutil.rmtree(first.parent)
    warehouse.build(lake)
    assert cached_rows(lake, "tool_calls") == file_rows(day_files(lake, "tool_calls"), hive=True)
    shutil.rmtree(lake.lake_dir / "rollups" / "daily_metrics")
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    try:
        assert con.execute("SELECT count(*) FROM rollup_cache.files WHERE rollup = 'daily_metrics'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'daily_metrics'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM daily_metrics").fetchone() == (0,)  # the empty relation
    finally:
        con.close()


def test_a_file_with_other_columns_reloads_the_whole_rollup(lake: Settings) -> None:
    """After an upgrade that changed a rollup's query, its files may differ in columns until the
    rebuild: the cache then holds what reading them by name gives."""
    newest = day_files(lake, "tool_calls")[-1]
    write_parquet_atomic(pq.read_table(newest).drop_columns(["edits"]), newest)
    rollups._definitions_file(lake).write_text("a digest of older queries\n", encoding="utf-8")
    warehouse.build(lake)
    assert cached_rows(lake, "tool_calls") == file_rows(day_files(lake, "tool_calls"), hive=True)
    con = connect_readonly(lake.duckdb_path)
    try:
        assert con.execute("SELECT count(edits) > 0, count(*) > count(edits) FROM tool_calls").fetchone() == (True, True)
    finally:
        con.close()


def test_a_build_drops_views_a_release_no_longer_has_and_survives_a_damaged_file(lake: Settings) -> None:
    con = duckdb.connect(str(lake.duckdb_path))
    con.execute("CREATE VIEW gone_in_this_release AS SELECT 1")
    con.execute("CREATE MACRO gone_macro(x) AS x + 1")
    con.execute("UPDATE rollup_cache.views_digest SET digest = 'the views of an older release'")
    con.close()
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'gone_in_this_release'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'gone_macro'").fetchone() == (0,)
        totals = con.execute("SELECT sum(requests), sum(spans) FROM daily_metrics").fetchone()
    finally:
        con.close()

    lake.duckdb_path.write_bytes(b"not a database at all" * 100)
    warehouse.build(lake)
    con = connect_readonly(lake.duckdb_path)
    try:
        assert con.execute("SELECT sum(requests), sum(spans) FROM daily_metrics").fetchone() == totals
    finally:
        con.close()


def test_a_build_removes_what_killed_builds_left(lake: Settings) -> None:
    """A build killed mid-way leaves its file (up to a copy of the rollups) under its process id."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True)
    leftover = lake.duckdb_path.with_name(f"{lake.duckdb_path.name}.{int(finished.stdout)}-0.tmp")
    leftover.write_bytes(b"half a copy")
    wal = leftover.with_name(leftover.name + ".wal")
    wal.write_bytes(b"its log")
    ours = lake.duckdb_path.with_name(f"{lake.duckdb_path.name}.{os.getpid()}-999999.tmp")  # this process's: in use
    ours.write_bytes(b"being copied")
    warehouse.build(lake)
    assert not leftover.exists() and not wal.exists() and ours.exists()
    ours.unlink()


def test_a_build_after_a_rebuild_starts_from_an_empty_file(lake: Settings) -> None:
    """Reading every file again into the copy would leave it twice its size (freed blocks are
    reused, never given back); a build that copies a few days keeps the copy."""
    con = duckdb.connect(str(lake.duckdb_path))
    con.execute("CREATE TABLE rollup_cache.kept_by_a_copy AS SELECT 1 AS one")
    con.close()
    os.utime(day_files(lake, "daily_metrics")[-1])
    warehouse.build(lake)
    assert _tables(lake) >= {"kept_by_a_copy", "daily_metrics"}

    rollups.rebuild(lake)
    warehouse.build(lake)
    assert "kept_by_a_copy" not in _tables(lake) and "daily_metrics" in _tables(lake)
    con = connect_readonly(lake.duckdb_path)
    try:
        used, free = con.execute("SELECT used_blocks, free_blocks FROM pragma_database_size()").fetchone()
    finally:
        con.close()
    assert free <= used
    for name in ("daily_metrics", "tool_calls", "session_totals"):
        assert cached_rows(lake, name) == file_rows(period_files(lake, name)), name


def test_a_file_mostly_free_blocks_is_not_copied(lake: Settings) -> None:
    con = duckdb.connect(str(lake.duckdb_path))
    con.execute("CREATE TABLE rollup_cache.kept_by_a_copy AS SELECT 1 AS one")
    con.execute("CREATE TABLE deleted_later AS SELECT repeat(md5(i::VARCHAR), 8) AS text FROM range(300000) AS r(i)")
    con.execute("CHECKPOINT")
    con.execute("DROP TABLE deleted_later")
    con.execute("CHECKPOINT")
    con.close()
    os.utime(day_files(lake, "daily_metrics")[-1])  # something to build
    warehouse.build(lake)
    assert "kept_by_a_copy" not in _tables(lake) and "daily_metrics" in _tables(lake)


def _tables(settings: Settings) -> set[str]:
    con = connect_readonly(settings.duckdb_path)
    try:
        return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'rollup_cache'")
                .fetchall()}
    finally:
        con.close()


def test_a_run_that_changes_nothing_the_views_read_writes_no_new_file(lake: Settings) -> None:
    """A re-ingest of duplicates: the live file already holds these views over up-to-date copies."""
    before = lake.duckdb_path.stat().st_ino
    summary = ingest(lake, "file", "again", read_files([fixture("otlp.json")], lake.batch_bytes))
    assert summary.written == 0 and summary.duplicates > 0
    assert lake.duckdb_path.stat().st_ino == before
    assert not list(lake.duckdb_path.parent.glob("lens.duckdb.*.tmp*"))  # the copy made meanwhile is gone

    os.utime(day_files(lake, "daily_metrics")[-1])  # a rollup file changed: a new file
    warehouse.build(lake)
    assert lake.duckdb_path.stat().st_ino != before
    again = lake.duckdb_path.stat().st_ino
    (lake.data_dir / "alerts").mkdir(exist_ok=True)  # the views change (alert history appears): a new file
    pq.write_table(ALERT_EVENT_SCHEMA.empty_table(), lake.data_dir / "alerts" / "first.parquet")
    warehouse.build(lake)
    assert lake.duckdb_path.stat().st_ino != again
