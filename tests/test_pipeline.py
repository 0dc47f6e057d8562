"""Ingest runs end to end: counts add up, re-ingest is a no-op, a killed run is completed by the next."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lens_etl import memory, writer_lock
from lens_etl.lake import JOURNAL, Lake
from lens_etl.schema import SPAN_SCHEMA
from lens_etl.errors import SourceError
from lens_etl.pipeline import ingest, read_ahead
from lens_etl.sources.files import read_files
from lens_etl.warehouse import connect_fresh, connect_readonly, sibling_cursor

from etl_helpers import fixture, settings_for

ROOT = Path(__file__).resolve().parent.parent
ALL_FIXTURES = ["arize_flat.jsonl", "phoenix_rest.json", "otlp.json", "spans.csv", "phoenix_df.parquet"]


def write_export(path: Path, spans: int, days: int = 5) -> None:
    """A flat export of `spans` valid spans over `days` days (plus nothing else)."""
    with path.open("w") as out:
        for i in range(spans):
            out.write(json.dumps({
                "context.span_id": f"span-{i:08d}", "context.trace_id": f"trace-{i // 4:08d}", "name": "litellm_request",
                "span_kind": "LLM", "start_time": 1763900000000 + (i % days) * 86_400_000 + i, "end_time": 1763900000500 + (i % days) * 86_400_000 + i,
                "attributes.llm.model_name": "claude-sonnet-4-5-20250929", "attributes.llm.token_count.prompt": 1000.0,
                "attributes.llm.token_count.completion": 100.0, "attributes.input.value": "x" * 400,
            }) + "\n")


def lake_count(data_dir: Path) -> int:
    con = duckdb.connect()
    return con.execute(f"SELECT count(*) FROM read_parquet('{data_dir}/lake/spans/*/*.parquet')").fetchone()[0]


def test_counts_add_up_and_reingest_changes_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    paths = [fixture(n) for n in ALL_FIXTURES]
    first = ingest(settings, "file", "fixtures", read_files(paths, settings.batch_bytes))
    assert first.read == first.written + first.duplicates + first.dead_letters
    assert (first.written, first.duplicates, first.dead_letters) == (12, 1, 4)
    second = ingest(settings, "file", "fixtures", read_files(paths, settings.batch_bytes))
    assert (second.written, second.duplicates, second.dead_letters) == (0, 13, 4)
    con = connect_readonly(settings.duckdb_path)
    assert con.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone() == (12, 12)
    runs = con.execute("SELECT read, written, duplicates, dead_letters, status FROM ingest_runs ORDER BY started_at").fetchall()
    assert runs == [(17, 12, 1, 4, "ok"), (17, 0, 13, 4, "ok")]
    # the second run rejected the same 4 records again: each is one dead letter, the latest run's
    assert con.execute("SELECT count(*), count(DISTINCT run_id) FROM dead_letters").fetchone() == (4, 1)
    assert con.execute("SELECT DISTINCT run_id FROM dead_letters").fetchone()[0] == second.run_id


def test_overlapping_exports_add_only_new_spans(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    ingest(settings, "file", "a", read_files([fixture("arize_flat.jsonl")], settings.batch_bytes))
    summary = ingest(settings, "file", "b", read_files([fixture("arize_flat.jsonl.gz"), fixture("otlp.json")], settings.batch_bytes))
    assert (summary.written, summary.duplicates) == (2, 5)


def test_summary_line_names_every_count(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    line = ingest(settings, "file", "x", read_files([fixture("arize_flat.jsonl")], settings.batch_bytes)).line()
    for word in ("read 7", "written 5", "duplicates 1", "dead letters 1", "unpriced 1"):
        assert word in line


def test_small_files_are_compacted_into_one_per_partition(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    export = tmp_path / "e.jsonl"
    write_export(export, 2000, days=2)
    for chunk in range(10):  # ten runs, each adding new spans to the same partitions
        lines = export.read_text().splitlines()[chunk * 200:(chunk + 1) * 200]
        part = tmp_path / f"part{chunk}.jsonl"
        part.write_text("\n".join(lines) + "\n")
        ingest(settings, "file", str(part), read_files([part], settings.batch_bytes))
    lake = Lake(settings.spans_dir, "check")
    assert all(len(lake.files(day)) < settings.compact_min_files for day in lake.partitions())
    assert lake_count(tmp_path) == 2000


def test_interrupted_compaction_is_completed_without_duplicates(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    export = tmp_path / "e.jsonl"
    write_export(export, 100, days=1)
    ingest(settings, "file", "x", read_files([export], settings.batch_bytes))
    lake = Lake(settings.spans_dir, "crash")
    day = lake.partitions()[0]
    (old,) = lake.files(day)
    merged = old.with_name("part-compact-x.parquet")
    merged.write_bytes(old.read_bytes())  # the merged file landed, then the process died
    (old.parent / JOURNAL).write_text(json.dumps({"output": merged.name, "inputs": [old.name]}))
    Lake(settings.spans_dir, "recover")
    assert lake_count(tmp_path) == 100 and not (old.parent / JOURNAL).exists()


def run_cli(*args: str, data_dir: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(data_dir)}
    return subprocess.Popen([sys.executable, "-m", "lens_etl", *args], cwd=data_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for_files(folder: Path, count: int, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    """Until `count` lake files (whole or half-written) exist, so the kill lands mid-ingest."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(folder.glob("lake/spans/*/*"))) >= count:
            return
        time.sleep(0.01)
    pytest.fail(f"ingest never wrote {count} files before it ended")


def test_two_ingests_at_once_write_each_span_once(tmp_path: Path) -> None:
    """A second run that writes the lake waits for the one running (and says so): run side by side,
    both would write every span neither had seen yet."""
    export = tmp_path / "e.jsonl"
    write_export(export, 20_000, days=3)
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(data_dir)}
    logs = [tmp_path / f"run{n}.err" for n in range(2)]
    with writer_lock.exclusive(data_dir / "lake" / "spans", "the test"):  # both start while a run holds the lake
        runs = [subprocess.Popen([sys.executable, "-m", "lens_etl", "ingest", "files", str(export)], cwd=tmp_path, env=env,
                                 stdout=subprocess.PIPE, stderr=log.open("w"), text=True) for log in logs]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all("waits for another run" in log.read_text() for log in logs):
            assert all(run.poll() is None for run in runs), [log.read_text() for log in logs]
            time.sleep(0.05)
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), [log.read_text() for log in logs]
    assert all(f"lens: ingest of {export} waits for another run writing the lake" in log.read_text() for log in logs)
    summaries = sorted(out.strip().splitlines()[-1] for out in outputs)
    assert "written 0 · duplicates 20,000" in summaries[0] and "written 20,000 · duplicates 0" in summaries[1], summaries
    con = connect_readonly(data_dir / "lens.duckdb")
    assert con.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone() == (20_000, 20_000)


def test_a_run_leaves_the_files_another_running_one_is_writing(tmp_path: Path) -> None:
    """A half-written file is a killed run's leftover only when no other run holds the lake."""
    spans = tmp_path / "lake" / "spans"
    half = spans / "event_date=2026-11-01" / "part-other-00001.parquet.tmp"
    half.parent.mkdir(parents=True)
    half.write_bytes(b"being written")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from lens_etl.writer_lock import exclusive\n"
         "with exclusive(Path(sys.argv[1]), 'a test run'):\n    print('held', flush=True); sys.stdin.read()", str(spans)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        Lake(spans, "reader").close()
        assert half.exists()
    finally:
        holder.communicate("", timeout=30)
    Lake(spans, "next").close()
    assert not half.exists()


@pytest.mark.parametrize("files_before_kill", [1, 20, 50])
def test_kill_9_mid_ingest_leaves_a_readable_lake_and_the_rerun_completes(tmp_path: Path, files_before_kill: int) -> None:
    export = tmp_path / "big.jsonl"
    write_export(export, 60_000, days=6)
    data_dir = tmp_path / "data"
    # many small batches, each written at once: many files to land between
    (tmp_path / "lens.toml").write_text("[lens]\nbatch_mb = 3\nwrite_buffer_mb = 0\n")
    proc = run_cli("ingest", "files", str(export), data_dir=data_dir)
    wait_for_files(data_dir, files_before_kill, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (data_dir / "lake" / "spans").exists() and any((data_dir / "lake" / "spans").glob("*/*.parquet")):
        lake_count(data_dir)  # every file is whole: readable
    rerun = run_cli("ingest", "files", str(export), data_dir=data_dir)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert lake_count(data_dir) == 60_000
    con = connect_readonly(data_dir / "lens.duckdb")
    assert con.execute("SELECT count(DISTINCT span_id) FROM spans").fetchone()[0] == 60_000
    assert not list((data_dir / "lake").rglob("*.tmp"))


def test_the_app_can_read_while_ingest_writes(tmp_path: Path) -> None:
    """Two real processes: a reader polling lens.duckdb (reconnecting on swap) and an ingest."""
    export = tmp_path / "big.jsonl"
    write_export(export, 60_000, days=6)
    data_dir = tmp_path / "data"
    seed = tmp_path / "seed.jsonl"
    seed.write_text(export.read_text().splitlines()[0] + "\n")
    assert run_cli("ingest", "files", str(seed), data_dir=data_dir).wait() == 0
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "reader_process.py"), str(data_dir / "lens.duckdb"), "60000"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    writer = run_cli("ingest", "files", str(export), data_dir=data_dir)
    _, werr = writer.communicate(timeout=180)
    assert writer.returncode == 0, werr
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    report = json.loads(out)
    assert report["errors"] == [] and report["queries"] > 5 and report["final"] == 60_000


def _span(span_id: str, trace: str, parent: str | None, **attributes: object) -> str:
    return json.dumps({"context.span_id": span_id, "context.trace_id": trace, "parent_id": parent, "start_time": 1763900000000,
                       "end_time": 1763900001000, "name": "Claude_Code_Tool_Read" if parent else "litellm_request",
                       **{f"attributes.{k}": v for k, v in attributes.items()}})


def test_a_session_arriving_in_a_later_batch_reaches_spans_already_in_the_lake(tmp_path: Path) -> None:
    """OTel exports a parent after its children: the tool span lands before its session does."""
    from lens_etl.sources.raw import raw_table

    settings = settings_for(tmp_path)
    child = raw_table("poll1", [1], [_span("c1", "T1", "r1")])
    ingest(settings, "phoenix", "poll 1", [child])
    root = raw_table("poll2", [1, 2], [_span("r1", "T1", None, **{"session.id": "sess-A", "user.id": "bob@acme.dev"}), _span("c2", "T1", "r1")])
    ingest(settings, "phoenix", "poll 2", [root])
    rows = connect_readonly(settings.duckdb_path).execute("SELECT span_id, session_id, developer_id, team FROM spans ORDER BY span_id").fetchall()
    assert rows == [("c1", "sess-A", "bob", "platform"), ("c2", "sess-A", "bob", "platform"), ("r1", "sess-A", "bob", "platform")]
    assert lake_count(tmp_path) == 3


def test_a_run_of_many_batches_writes_a_file_per_day_sorted_by_time(tmp_path: Path) -> None:
    """New rows are held across batches: no file per batch and day, so nothing to compact."""
    settings = replace(settings_for(tmp_path), batch_bytes=64 * 1024)
    export = tmp_path / "e.jsonl"
    write_export(export, 3000, days=2)
    batches = list(read_files([export], settings.batch_bytes))
    assert len(batches) > 10
    summary = ingest(settings, "file", "x", iter(batches))
    lake = Lake(settings.spans_dir, "check")
    for day in lake.partitions():
        (path,) = lake.files(day)
        times = pq.read_table(path, columns=["start_time"])["start_time"].to_pylist()
        assert times == sorted(times)
    assert summary.written == lake_count(tmp_path) == 3000


def test_read_ahead_gives_every_batch_before_the_sources_error() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise SourceError("phoenix at http://127.0.0.1:1: connection refused")

    got = []
    with pytest.raises(SourceError, match="connection refused"):
        for batch in read_ahead(source()):
            got.append(batch)
    assert got == [1, 2]


def test_read_ahead_stops_the_source_when_the_caller_stops() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from itertools.count()
        finally:
            closed.set()

    reader = read_ahead(source())
    assert next(reader) == 0
    reader.close()
    assert closed.wait(timeout=10)


def test_the_lake_knows_a_span_by_its_id_on_its_day_and_nothing_else(tmp_path: Path) -> None:
    """The key lookup before normalization: a hash match is confirmed by the id itself."""
    settings = settings_for(tmp_path)
    export = tmp_path / "e.jsonl"
    write_export(export, 40, days=2)
    ingest(settings, "file", "x", read_files([export], settings.batch_bytes))
    lake = Lake(settings.spans_dir, "check")
    day_of = dict(lake.con.execute(
        f"SELECT span_id, event_date FROM read_parquet('{settings.spans_dir}/*/*.parquet', hive_partitioning = true)").fetchall())
    other_day = {d: e for d, e in zip(sorted(set(day_of.values())), sorted(set(day_of.values()), reverse=True))}

    def hash_of(span_id: str | None) -> int:
        return lake.con.execute("SELECT hash($s)", {"s": span_id}).fetchone()[0]

    rows = [
        ("span-00000001", hash_of("span-00000001"), day_of["span-00000001"], True),  # held on that day
        ("span-00000002", hash_of("span-00000002"), other_day[day_of["span-00000002"]], False),  # another day
        ("SPAN-00000003", hash_of("SPAN-00000003"), day_of["span-00000003"], False),  # ids are case-sensitive
        ("span-99999999", hash_of("span-00000004"), day_of["span-00000004"], False),  # a hash shared, not the id
        ("span-00000005", hash_of("span-00000005"), None, False),  # no day
        (None, hash_of(None), day_of["span-00000006"], False),  # no id
        ("span-00000007", hash_of("span-00000007"), day_of["span-00000007"], True),
    ]
    keys = pa.table({"span_id": pa.array([r[0] for r in rows], pa.string()),
                     "span_hash": pa.array([r[1] for r in rows], pa.uint64()),
                     "event_date": pa.array([r[2] for r in rows], pa.date32())})
    try:
        assert lake.known(keys).tolist() == [r[3] for r in rows]
    finally:
        lake.close()


def test_a_long_run_in_time_order_forgets_idle_days_and_still_skips_their_spans(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the budget of remembered span ids, the days no batch touched lately are forgotten (the
    run's memory stays bounded); a span of a forgotten day that comes again, in the same run or the
    next, is still a duplicate: the day's files are read again."""
    monkeypatch.setattr("lens_etl.lake.REMEMBERED_IDS", 100)
    export = tmp_path / "ordered.jsonl"
    write_export(export, 360, days=1)
    lines = export.read_text().splitlines(keepends=True)
    day_of = [json.loads(line)["start_time"] for line in lines]
    ordered = [line.replace(f'"start_time": {t}', f'"start_time": {t + (i // 60) * 86_400_000}')
               .replace(f'"end_time": {t + 500}', f'"end_time": {t + 500 + (i // 60) * 86_400_000}')
               for i, (line, t) in enumerate(zip(lines, day_of))]  # six days, one after another
    export.write_text("".join(ordered + ordered[:25]))  # the first day's first spans again at the end
    settings = replace(settings_for(tmp_path / "data"), batch_bytes=20_000, write_buffer_bytes=1)
    remembered: list[int] = []
    write = Lake.write

    def counted(self: Lake, spans: pa.Table):  # type: ignore[no-untyped-def]
        result = write(self, spans)
        remembered.append(self.con.execute("SELECT count(*) FROM known").fetchone()[0])
        return result

    monkeypatch.setattr(Lake, "write", counted)
    first = ingest(settings, "file", "ordered", read_files([export], settings.batch_bytes))
    assert (first.written, first.duplicates, first.dead_letters) == (360, 25, 0)
    # never more than the budget, a forgotten day read back and a batch; and days were forgotten
    assert max(remembered) <= 100 + 60 + 26
    assert any(later < earlier for earlier, later in itertools.pairwise(remembered))
    again = ingest(settings, "file", "ordered", read_files([export], settings.batch_bytes))
    assert (again.written, again.duplicates) == (0, 385)
    assert lake_count(settings.data_dir) == 360
    con = connect_readonly(settings.duckdb_path)
    assert con.execute("SELECT count(DISTINCT event_date), count(DISTINCT span_id) FROM spans").fetchone() == (6, 360)


def _bare_spans(first: int, count: int, days: int) -> pa.Table:
    """Canonical spans with ids, a trace each, sessions and days spread over `days`; the
    rest null: what the lake's memory of a run holds, quickly made."""
    numbers = pa.array(range(first, first + count), pa.int64())
    given = {
        "span_id": pc.binary_join_element_wise("span-", pc.cast(numbers, pa.string()), ""),
        "trace_id": pc.binary_join_element_wise("trace-", pc.cast(numbers, pa.string()), ""),
        "session_id": pc.binary_join_element_wise("sess-", pc.cast(pc.divide(numbers, 40), pa.string()), ""),
        "start_time": pc.cast(pc.multiply(pc.add(numbers, 1_700_000_000_000), 1000), pa.timestamp("us", "UTC")),
        "event_date": pa.array([date(2026, 10, 1) + timedelta(days=n % days) for n in range(first, first + count)], pa.date32()),
    }
    return pa.table({f.name: given[f.name].cast(f.type) if f.name in given else pa.nulls(count, f.type) for f in SPAN_SCHEMA})


def test_what_a_run_remembers_goes_to_disk_past_its_memory_limit(tmp_path: Path) -> None:
    """An export whose every batch touches every day makes the run remember every span id and trace
    it wrote: past the run's memory limit those tables spill to a temporary folder (an index on
    them would not, and runs out of memory here), and a span seen before is still a duplicate."""
    lake = Lake(tmp_path / "spans", "big", buffer_bytes=64 * 1024 * 1024, memory_bytes=64 * 1024 * 1024)
    try:
        first = _bare_spans(0, 40_000, days=30)
        assert lake.write(first).written == 40_000
        for batch in range(1, 40):
            assert lake.write(_bare_spans(batch * 40_000, 40_000, days=30)).written == 40_000
        spilled = lake.con.execute("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()").fetchone()[0]
        assert spilled > 0
        again = lake.write(pa.concat_tables([first.slice(0, 1000), _bare_spans(1_600_000, 10, days=30)]))
        assert (again.written, again.duplicates) == (10, 1000)
    finally:
        lake.close()
    assert lake.spill_dir.parent == Path(tempfile.gettempdir()) and not lake.spill_dir.exists()  # gone with the run


def test_a_run_removes_what_killed_runs_spilled(tmp_path: Path) -> None:
    """A run killed past its memory limit leaves its spill folder under its process id; the next
    run removes it, and leaves a running process's be."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True)
    dead = Path(tempfile.gettempdir()) / f"lens-run-{int(finished.stdout)}-killed-0123456789ab"
    dead.mkdir()
    (dead / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"spilled span ids")
    ours = Path(tempfile.gettempdir()) / f"lens-run-{os.getpid()}-busy-0123456789ab"  # this process's: in use
    ours.mkdir()
    try:
        Lake(tmp_path / "spans", "next").close()
        assert not dead.exists() and ours.exists()
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        ours.rmdir()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_freed_memory_can_go_back_to_the_system() -> None:
    """Long runs hand freed memory back between batches and days: on Linux the call must be found,
    or the run's resident size would climb with its length without a word."""
    assert memory._malloc_trim() is not None
    memory.release_freed()


def test_a_reader_that_lives_across_ingests_sees_each_new_file(tmp_path: Path) -> None:
    """The app keeps its connection to the last file while it opens one to the new: DuckDB shares one
    instance per path while any connection to it is open, so the new connection read the old file."""
    settings = settings_for(tmp_path)
    export = tmp_path / "e.jsonl"
    write_export(export, 100, days=1)
    ingest(settings, "file", "x", read_files([export], settings.batch_bytes))
    before = connect_fresh(settings.duckdb_path)
    more = tmp_path / "more.jsonl"
    more.write_text("".join(line.replace('"s', '"more-s', 1) for line in export.read_text().splitlines(keepends=True)))
    ingest(settings, "file", "more", read_files([more], settings.batch_bytes))
    after = connect_fresh(settings.duckdb_path)
    totals = "SELECT sum(spans) FROM daily_metrics"  # the rollup's copy inside lens.duckdb
    try:
        assert before.execute(totals).fetchone()[0] == 100
        assert after.execute(totals).fetchone()[0] == 200
        assert sibling_cursor(after).execute(totals).fetchone()[0] == 200
    finally:
        before.close()
        after.close()


def _file_size_limit(limit: int) -> None:
    """In the child: files may not grow past `limit` bytes, as on a full disk (the write fails,
    EFBIG, instead of the process being signalled)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_views_build_that_runs_out_of_room_leaves_no_file_and_the_next_one_works(tmp_path: Path) -> None:
    """A build's copy of lens.duckdb is as large as the file: left behind by a failed build, it kept
    the room the next run needed until a later build came round to it."""
    data_dir = tmp_path / "data"
    (tmp_path / "lens.toml").write_text("[lens]\n")
    export = tmp_path / "export.jsonl"
    write_export(export, 2_000)
    first = run_cli("ingest", "files", str(export), data_dir=data_dir)
    assert first.wait(timeout=120) == 0, first.stderr.read()
    (data_dir / "lens.duckdb").unlink()  # the next build writes the file from nothing
    full = run_cli("views", data_dir=data_dir, preexec_fn=lambda: _file_size_limit(64 * 1024))
    _, err = full.communicate(timeout=120)
    assert full.returncode != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in data_dir.glob("lens.duckdb*")) == ["lens.duckdb.lock"]
    again = run_cli("views", data_dir=data_dir)
    assert again.wait(timeout=120) == 0, again.stderr.read()
    assert connect_readonly(data_dir / "lens.duckdb").execute("SELECT count(*) FROM spans").fetchone()[0] == 2_000


def test_a_run_that_fails_says_its_own_error_not_the_views_build_that_failed_after_it(tmp_path: Path) -> None:
    """The views are built after a failed run too (over what landed); when that build fails as well
    (the same full disk), the run's own error is still the one line the user reads."""
    data_dir = tmp_path / "data"
    (tmp_path / "lens.toml").write_text("[lens]\n")
    export = tmp_path / "export.jsonl"
    write_export(export, 5_000)
    run = run_cli("ingest", "files", str(export), data_dir=data_dir, preexec_fn=lambda: _file_size_limit(16 * 1024))
    _, err = run.communicate(timeout=120)
    errors = [line for line in err.splitlines() if line.startswith("lens: error:")]
    assert run.returncode != 0 and len(errors) == 1 and "Traceback" not in err, err
    assert "lens.duckdb" not in errors[0] and "views were not rebuilt either" in err, err
