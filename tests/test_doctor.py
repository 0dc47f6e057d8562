"""lens_etl doctor: a small lake with injected problems is reported, fixed, and then clean."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from lens_etl import doctor, lake as lake_module, rollups, session_totals
from lens_etl.config import Settings
from lens_etl.lake import JOURNAL, Lake, partition_dir
from lens_etl.pipeline import ingest
from lens_etl.rollups import rollup_dir
from lens_etl.sources.files import read_files
from lens_etl import warehouse
from lens_etl.warehouse import connect_readonly

from conftest import write_synthetic_export

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    paths, identity = write_synthetic_export(tmp_path / "export")
    settings = Settings(data_dir=tmp_path / "data", identity_file=identity)
    ingest(settings, "file", "synthetic", read_files(paths, settings.batch_bytes))
    return settings


def _days(settings: Settings) -> list[date]:
    return [p.day for p in doctor.diagnose(settings).partitions]


def _span_count(settings: Settings) -> int:
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT count(DISTINCT span_id) FROM read_parquet(?, union_by_name = true)",
            [str(settings.spans_dir / "event_date=*" / "*.parquet")],
        ).fetchone()[0]
    finally:
        con.close()


def _inject_problems(settings: Settings) -> dict[str, date]:
    """One of each: a dead .tmp, a half-finished compaction, a file missing a column, a file
    without statistics, rollups deleted and stale, session totals older than their days, a rollup
    partition with no spans."""
    days = _days(settings)
    tmp_day, journal_day, drift_day, nostats_day, missing_day, stale_day = days[:6]
    (partition_dir(settings.spans_dir, tmp_day) / "part-dead-00001.parquet.tmp").write_bytes(b"PAR1 half a file")

    folder = partition_dir(settings.spans_dir, journal_day)
    (original,) = sorted(folder.glob("*.parquet"))
    shutil.copy(original, folder / "part-compact-deadbeef0000.parquet")  # renamed in, inputs not yet deleted
    (folder / JOURNAL).write_text(json.dumps({"output": "part-compact-deadbeef0000.parquet", "inputs": [original.name]}))

    (drifted,) = sorted(partition_dir(settings.spans_dir, drift_day).glob("*.parquet"))
    lake_module.write_parquet_atomic(pq.read_table(drifted).drop_columns(["repo_slug"]), drifted)

    (plain,) = sorted(partition_dir(settings.spans_dir, nostats_day).glob("*.parquet"))
    pq.write_table(pq.read_table(plain), plain, write_statistics=False)

    shutil.rmtree(partition_dir(rollup_dir(settings, "hourly_metrics"), missing_day))
    (spans,) = sorted(partition_dir(settings.spans_dir, stale_day).glob("*.parquet"))
    stamp = spans.stat().st_mtime - 60  # the rollups predate the spans
    os.utime(partition_dir(rollup_dir(settings, "error_types"), stale_day) / "rollup.parquet", (stamp, stamp))

    marker = session_totals.folder(settings) / session_totals.MARKER  # as if killed before the totals
    os.utime(marker, (stamp - 3600, stamp - 3600))

    orphan = partition_dir(rollup_dir(settings, "tool_calls"), date(2001, 1, 1))
    shutil.copytree(partition_dir(rollup_dir(settings, "tool_calls"), tmp_day), orphan)

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True)  # a build killed mid-way, its process gone
    settings.duckdb_path.with_name(f"lens.duckdb.{int(finished.stdout)}-0.tmp").write_bytes(b"half a copy")
    return {"tmp": tmp_day, "journal": journal_day, "drift": drift_day, "nostats": nostats_day,
            "missing": missing_day, "stale": stale_day}


def test_fresh_lake_is_healthy_and_described(settings: Settings) -> None:
    report = doctor.diagnose(settings)
    assert report.problems() == []
    assert len(report.partitions) >= 6
    assert sum(f.rows for p in report.partitions for f in p.files) == _span_count(settings)
    assert all(f.stats and f.sorted and not f.drifted for p in report.partitions for f in p.files)
    assert report.dead_letter_files == 1 and report.run_files == 1  # the export has one malformed line


def test_doctor_reports_each_injected_problem(settings: Settings) -> None:
    days = _inject_problems(settings)
    problems = "\n".join(doctor.diagnose(settings).problems())
    assert f"event_date={days['tmp']}/part-dead-00001.parquet.tmp" in problems
    assert f"event_date={days['journal']}/{JOURNAL}" in problems
    assert f"{days['drift']}/" in problems and "missing columns repo_slug" in problems
    assert f"{days['nostats']}/" in problems and "no min/max statistics" in problems
    assert f"{days['missing']}: rollups missing or stale" in problems
    assert f"{days['stale']}: rollups missing or stale" in problems
    assert "rollups/tool_calls/event_date=2001-01-01" in problems
    assert "session totals older than the day rollups they add up" in problems
    assert "leftover build file lens.duckdb." in problems
    # the rollup files changed since the views' copies: one day's hourly_metrics gone, an
    # error_types file touched, the orphan's tool_calls file new
    assert "lens.duckdb: 3 rollup file(s) changed since the views' copies were made" in problems
    # diagnosing changes nothing: the dead run's files are still there
    assert (partition_dir(settings.spans_dir, days["journal"]) / JOURNAL).exists()
    assert any(partition_dir(settings.spans_dir, days["tmp"]).glob("*.tmp"))


def test_fix_repairs_everything_and_a_second_run_is_clean(settings: Settings) -> None:
    spans = _span_count(settings)
    days = _inject_problems(settings)
    after = doctor.fix(settings)
    assert after.problems() == []
    assert doctor.diagnose(settings).problems() == []
    assert not any(settings.data_dir.rglob("*.tmp"))
    assert not any(settings.spans_dir.rglob(JOURNAL))
    assert not partition_dir(rollup_dir(settings, "tool_calls"), date(2001, 1, 1)).exists()
    assert partition_dir(rollup_dir(settings, "hourly_metrics"), days["missing"]).exists()
    (fixed,) = sorted(partition_dir(settings.spans_dir, days["drift"]).glob("*.parquet"))
    assert pq.read_schema(fixed) == lake_module.FILE_SCHEMA
    assert _span_count(settings) == spans
    con = connect_readonly(settings.duckdb_path)
    try:
        from_spans = con.execute("SELECT count(*), sum(tokens_in) FROM spans").fetchone()
        from_rollup = con.execute("SELECT sum(spans), sum(tokens_in) FROM daily_metrics").fetchone()
    finally:
        con.close()
    assert from_spans == (spans, from_rollup[1]) and from_rollup[0] == spans


def test_cli_json_exit_codes(settings: Settings) -> None:
    _inject_problems(settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(settings.data_dir)}

    def run(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lens_etl", "doctor", *flags], env=env, cwd=settings.data_dir.parent,
                              capture_output=True, text=True, timeout=300)

    broken = run("--json")
    assert broken.returncode == 1, broken.stderr
    assert len(json.loads(broken.stdout)["problems"]) >= 7
    fixed = run("--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "lake healthy" in fixed.stdout
    clean = run()
    assert clean.returncode == 0 and "lake healthy" in clean.stdout


def test_compaction_writes_sorted_row_groups_with_statistics(settings: Settings, monkeypatch) -> None:
    """Small row groups make several per file: each has min/max, and start_time ranges do not
    overlap, so DuckDB can skip row groups on a time filter; inside each, rows are grouped for zstd."""
    monkeypatch.setattr(lake_module, "ROW_GROUP_ROWS", 8)
    day = max(_days(settings), key=lambda d: sum(f.rows for f in doctor.diagnose(settings).partitions[_days(settings).index(d)].files))
    lake = Lake(settings.spans_dir, "test")
    try:
        assert lake.compact(min_files=1, days=[day]) == 1
        (path,) = lake.files(day)
    finally:
        lake.close()
    health = doctor.inspect_file(path)
    assert health.row_groups > 1 and health.stats and health.sorted
    meta = pq.ParquetFile(path).metadata
    starts = [meta.row_group(i).column(lake_module.FILE_SCHEMA.get_field_index("start_time")).statistics for i in range(meta.num_row_groups)]
    assert all(s.has_min_max for s in starts)
    assert all(a.max <= b.min for a, b in zip(starts, starts[1:]))
    # within a row group, rows of one kind and tool lie together (by developer, session, time), and span ids, all
    # distinct, are not in a dictionary
    parquet = pq.ParquetFile(path)
    for index in range(meta.num_row_groups):
        rows = parquet.read_row_group(index, columns=list(lake_module.ROW_GROUP_ORDER)).to_pylist()
        keys = [tuple((row[name] is None, row[name]) for name in lake_module.ROW_GROUP_ORDER) for row in rows]
        assert keys == sorted(keys)
    span_id = meta.row_group(0).column(lake_module.FILE_SCHEMA.get_field_index("span_id"))
    assert "RLE_DICTIONARY" not in span_id.encodings and "DELTA_LENGTH_BYTE_ARRAY" in span_id.encodings
    # times sorted by session jump at every session: plain, for zstd, not bit-packed deltas
    start = meta.row_group(0).column(lake_module.FILE_SCHEMA.get_field_index("start_time"))
    assert "DELTA_BINARY_PACKED" not in start.encodings and "PLAIN" in start.encodings


def _plant_corrupt_files(settings: Settings) -> tuple[Path, Path]:
    """A garbage file and a real span file cut short, in two partitions."""
    first, second = _days(settings)[:2]
    garbage = partition_dir(settings.spans_dir, first) / "part-bad.parquet"
    garbage.write_bytes(b"not parquet at all\n")
    (whole,) = sorted(partition_dir(settings.spans_dir, second).glob("*.parquet"))
    cut = whole.with_name("part-cut.parquet")
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return garbage, cut


def _lens(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "lens_etl", *args], env=env, cwd=settings.data_dir.parent,
                          capture_output=True, text=True, timeout=300)


def test_doctor_reports_corrupt_span_files_instead_of_crashing(settings: Settings) -> None:
    garbage, cut = _plant_corrupt_files(settings)
    report = doctor.diagnose(settings)
    assert sorted(report.corrupt_files) == sorted(str(p.relative_to(settings.data_dir)) for p in (garbage, cut))
    assert sum("corrupt span file" in line for line in report.problems()) == 2
    shown = _lens(settings, "doctor")
    assert shown.returncode == 1 and "Traceback" not in shown.stderr, shown.stderr
    assert "part-bad.parquet" in shown.stdout and "lake healthy" not in shown.stdout


@pytest.mark.parametrize("command", [["compact"], ["rebuild"], ["ingest", "files", "EXPORT"], ["purge", "--developer", "bob"]])
def test_commands_that_read_the_lake_stop_at_a_corrupt_file_in_one_line(settings: Settings, tmp_path: Path,
                                                                         command: list[str]) -> None:
    garbage, _ = _plant_corrupt_files(settings)
    export = tmp_path / "export" / "synthetic.jsonl"  # the export the lake was made of
    result = _lens(settings, *[str(export) if arg == "EXPORT" else arg for arg in command])
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "part-bad.parquet: not a readable Parquet file (and 1 more)" in result.stderr and "doctor" in result.stderr
    assert garbage.exists()


def test_fix_moves_corrupt_files_to_quarantine_and_the_lake_works_again(settings: Settings) -> None:
    spans = _span_count(settings)
    garbage, cut = _plant_corrupt_files(settings)
    content = garbage.read_bytes()
    after = doctor.fix(settings)
    assert after.problems() == [] and len(after.quarantined) == 2
    assert not garbage.exists() and not cut.exists()
    moved = settings.quarantine_dir / garbage.relative_to(settings.data_dir)
    assert moved.read_bytes() == content
    assert (settings.quarantine_dir / cut.relative_to(settings.data_dir)).exists()
    assert _span_count(settings) == spans
    assert _lens(settings, "compact").returncode == 0


def _views_agree(settings: Settings) -> tuple[int, int, int, int]:
    """The spans view's rows and sessions, and what the rollups say of them."""
    con = connect_readonly(settings.duckdb_path)
    try:
        return con.execute("SELECT (SELECT count(*) FROM spans), (SELECT sum(spans) FROM daily_metrics), "
                           "(SELECT count(DISTINCT session_id) FROM spans), (SELECT count(*) FROM sessions)").fetchone()
    finally:
        con.close()


def test_fix_drops_the_rollups_and_sessions_of_days_whose_spans_are_gone(settings: Settings) -> None:
    """A partition deleted by hand (or a retention killed before its rollups): the views must stop
    counting its spans, in the period files and the sessions too, not only lose its day folders."""
    gone = _days(settings)[:3]
    for day in gone:
        shutil.rmtree(partition_dir(settings.spans_dir, day))
    report = doctor.diagnose(settings)
    assert any(f"rollups/daily_metrics/event_date={gone[0]}" in line for line in report.problems())
    doctor.fix(settings)
    assert doctor.diagnose(settings).problems() == []
    spans, from_rollup, sessions, from_totals = _views_agree(settings)
    assert spans == _span_count(settings) == from_rollup and sessions == from_totals


def test_an_empty_partition_folder_is_reported_and_fix_removes_it(settings: Settings) -> None:
    empty = partition_dir(settings.spans_dir, date(2030, 1, 1))
    empty.mkdir()
    assert doctor.diagnose(settings).problems() == ["empty partition folder lake/spans/event_date=2030-01-01"]
    assert doctor.fix(settings).problems() == []
    assert not empty.exists()


@pytest.mark.parametrize("name", ["event_date={day}.bak", "event_date={compact}"])
def test_a_partition_folder_not_named_as_a_day_is_moved_to_quarantine(settings: Settings, name: str) -> None:
    """A copy of a day beside it (event_date=DAY.bak, or the day without dashes, which Python reads
    as that day) is read by the spans view: every span twice."""
    spans = _span_count(settings)
    day = _days(settings)[-1]
    copy = settings.spans_dir / name.format(day=day, compact=f"{day:%Y%m%d}")
    shutil.copytree(partition_dir(settings.spans_dir, day), copy)
    problems = doctor.diagnose(settings).problems()
    assert any(f"partition folder lake/spans/{copy.name}: not named event_date=YYYY-MM-DD" in line
               for line in problems), problems
    assert _days(settings)[-1] == day and len(doctor.diagnose(settings).partitions[-1].files) == 1
    after = doctor.fix(settings)
    assert after.problems() == [] and after.quarantined == [f"quarantine/lake/spans/{copy.name}"]
    assert not copy.exists() and (settings.quarantine_dir / "lake" / "spans" / copy.name).is_dir()
    assert _views_agree(settings)[:2] == (spans, spans)


def test_compact_leaves_the_rollups_current_and_the_lake_healthy(settings: Settings) -> None:
    """Compaction moves the same spans into one file: the day's rollups stay as current as they
    were, so `compact` then `doctor` finds nothing, and the next ingest recomputes nothing for it."""
    day = _days(settings)[0]
    (whole,) = sorted(partition_dir(settings.spans_dir, day).glob("*.parquet"))
    table = pq.read_table(whole)
    half = table.num_rows // 2
    lake_module.write_span_file(table.slice(0, half), whole.with_name("part-a.parquet"))
    lake_module.write_span_file(table.slice(half), whole.with_name("part-b.parquet"))
    whole.unlink()
    rollups.refresh(settings, [day])  # the day's rollups from its two files
    warehouse.build(settings)
    assert doctor.diagnose(settings).problems() == [] and len(doctor.diagnose(settings).partitions[0].files) == 2
    result = _lens(settings, "compact")
    assert result.returncode == 0 and "compacted 1 partition(s)" in result.stdout, result.stderr
    assert doctor.diagnose(settings).problems() == []
    assert rollups.stale_days(settings) == []


def test_a_data_folder_copied_elsewhere_is_told_its_views_read_the_original(settings: Settings, tmp_path: Path) -> None:
    """The views name the lake's files by path: a copy's lens.duckdb reads the original's spans."""
    copy = Settings(data_dir=tmp_path / "copy", identity_file=settings.identity_file)
    shutil.copytree(settings.data_dir, copy.data_dir)
    assert doctor.diagnose(settings).problems() == []
    problems = doctor.diagnose(copy).problems()
    assert "lens.duckdb: its views are not what sql/ gives over this data folder (built for another folder, " \
           "or before sql/ changed)" in problems, problems
    assert doctor.fix(copy).problems() == []
    shutil.rmtree(partition_dir(settings.spans_dir, _days(settings)[0]))  # the original changes; the copy does not
    assert _views_agree(copy)[0] == _span_count(copy)
