"""Load: partitioned, atomic, idempotent Parquet writes of canonical spans; compaction.

Layout: spans/event_date=YYYY-MM-DD/part-*.parquet (zstd). A file appears only whole:
it is written as *.parquet.tmp (outside every reader's glob) and renamed in. A span id
already in the lake is never written again, so re-ingesting changes nothing.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import memory, processes
from .errors import LensError
from .schema import PARTITION_COLUMN, SPAN_SCHEMA
from .writer_lock import unless_busy

JOURNAL = "_compaction.json"
FILE_SCHEMA = pa.schema([f for f in SPAN_SCHEMA if f.name != PARTITION_COLUMN])
ROW_GROUP_ROWS = 128_000
# New rows are held per day across batches until this many bytes are held (then each day's go to
# one file): a run writes a few large files per day, not one per batch, so it seldom needs the
# compaction that reads and writes every span again. A killed run loses none: its rerun reads
# them from the source again. [lens] write_buffer_mb.
BUFFER_BYTES = 320 * 1024 * 1024
# A run remembers the span ids (and traces) of the days it touched, to skip what the lake holds:
# about 150 bytes a span with its trace. Past this many ids, the days no batch touched lately are
# forgotten (their files are read again if a later batch reaches them), so a long export in time
# order runs in bounded memory. An export that touches every day in every batch keeps them all.
REMEMBERED_IDS = 2_000_000
# What a run remembers (its own span ids, the lake's ids it looked up, the traces) lives in DuckDB
# tables that spill to a temporary folder past this much memory. Held in memory, they grew by ~80 MB
# a million spans of an export whose every batch touches every day (the run by ~175 MB: 2 GB at
# ~3.8M spans). trace_info has no primary key: an index (~70 bytes a trace) stays in memory.
# A batch's write query needs ~170 bytes a span of it, within the limit: a run reading larger
# batches (`batch_mb`) is given more (`run_memory_bytes`).
RUN_MEMORY_BYTES = 256 * 1024 * 1024
SPILL_PREFIX = "lens-run-"  # a run's spill folder in the system temp dir: lens-run-<pid>-<run id>-<random>
ZSTD_LEVEL = 3  # a tenth smaller than the default level 1 at the same speed (a span file: 8.7 -> 7.3 MB per 100k)
# Span files: row groups in time order (a time filter skips whole groups); within a group, rows of
# one kind and tool side by side, then one developer's sessions, each by time: the previews and
# metadata zstd sees in one page are alike (a session's turns repeat its ids and much of its
# context). A higher zstd level (writes slower, reads as fast), higher still for the wide text
# columns, in pages of 4 MB so zstd finds their likenesses across more rows. Span ids (all
# distinct) without a dictionary; start and end times plain: sorted by session, not by time, their
# deltas jump at every session and bit-packing pays for the widest. A synthetic 100k-span day:
# 55.2 bytes a span by kind and tool, 54.4 by session too, 52.2 with these encodings and levels.
ROW_GROUP_ORDER = ("span_kind", "tool_name", "developer_id", "session_id", "start_time")
SPAN_ZSTD_LEVEL = 9
SPAN_ENCODINGS = {"span_id": "DELTA_LENGTH_BYTE_ARRAY", "start_time": "PLAIN", "end_time": "PLAIN"}
WIDE_COLUMNS = ("metadata", "input_preview")
WIDE_ZSTD_LEVEL = 12
SPAN_PAGE_BYTES = 4 * 1024 * 1024


TRACE_TABLES_SQL = """
CREATE TABLE known (span_id VARCHAR, event_date DATE);
CREATE TABLE trace_info (trace_id VARCHAR, session_id VARCHAR, developer_id VARCHAR, team VARCHAR, repo_slug VARCHAR,
                         event_date DATE);
CREATE TABLE provisional (trace_id VARCHAR, event_date DATE);
"""
# A trace with a real session (not the `trace:<id>` fallback) lends it, with its developer,
# team and repo, to its other spans; spans still waiting for one are remembered by day.
REMEMBER_TRACES_SQL = ("""
INSERT INTO trace_info
SELECT trace_id, any_value(session_id), any_value(developer_id), any_value(team), any_value(repo_slug),
       coalesce(CAST($day AS DATE), CAST(min(start_time) AS DATE))
FROM partition_rows AS p
WHERE trace_id IS NOT NULL AND NOT starts_with(session_id, 'trace:')
  AND NOT EXISTS (SELECT 1 FROM trace_info AS t WHERE t.trace_id = p.trace_id)
GROUP BY trace_id
""", """
INSERT INTO provisional
SELECT DISTINCT trace_id, coalesce(CAST($day AS DATE), CAST(start_time AS DATE))
FROM partition_rows
WHERE trace_id IS NOT NULL AND starts_with(session_id, 'trace:')
  AND trace_id NOT IN (SELECT trace_id FROM trace_info)
""")
TRACE_LENT = ("session_id", "developer_id", "team", "repo_slug")  # what FILL_FROM_TRACES_SQL fills in
FILL_FROM_TRACES_SQL = """
SELECT r.* REPLACE (
    CASE WHEN starts_with(r.session_id, 'trace:') AND t.session_id IS NOT NULL THEN t.session_id ELSE r.session_id END AS session_id,
    coalesce(r.developer_id, t.developer_id) AS developer_id,
    coalesce(r.team, t.team) AS team,
    coalesce(r.repo_slug, t.repo_slug) AS repo_slug)
FROM {source} AS r LEFT JOIN trace_info AS t ON t.trace_id = r.trace_id
"""


@dataclass(frozen=True)
class WriteResult:
    written: int
    duplicates: int


def partition_day(folder: Path) -> date | None:
    """The day a partition folder (`event_date=YYYY-MM-DD`) holds; None for any other name."""
    try:
        return date.fromisoformat(folder.name.split("=", 1)[1])
    except (IndexError, ValueError):
        return None


def partition_dir(root: Path, day: date) -> Path:
    return root / f"{PARTITION_COLUMN}={day.isoformat()}"


def _encodings(schema: pa.Schema) -> dict[str, str]:
    """Times, dates and counts as deltas, floats split by byte (both standard Parquet encodings):
    smaller than dictionaries of mostly distinct values, and quicker to write."""
    encodings = {}
    for f in schema:
        if pa.types.is_integer(f.type) or pa.types.is_timestamp(f.type) or pa.types.is_date32(f.type):
            encodings[f.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(f.type):
            encodings[f.name] = "BYTE_STREAM_SPLIT"
    return encodings


def write_parquet_atomic(table: pa.Table, target: Path, row_group_rows: int | None = None,
                         zstd_level: int | dict[str, int] = ZSTD_LEVEL, encodings: dict[str, str] | None = None,
                         page_bytes: int | None = None) -> None:
    """Write beside the target as .tmp, fsync, rename: readers see all of it or none. `encodings`
    overrides the default encoding of some columns (see `_encodings`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    chosen = {**_encodings(table.schema), **{k: v for k, v in (encodings or {}).items() if k in table.column_names}}
    pq.write_table(table, tmp, compression="zstd", compression_level=zstd_level, row_group_size=row_group_rows or ROW_GROUP_ROWS,
                   write_statistics=True, column_encoding=chosen, data_page_size=page_bytes,
                   use_dictionary=[name for name in table.column_names if name not in chosen])
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def run_memory_bytes(batch_bytes: int) -> int:
    """The memory a run's tables may hold before they spill, for batches of `batch_bytes` of input
    (a span is ~1 KB of JSON, and its write needs ~170 bytes)."""
    return max(RUN_MEMORY_BYTES, 8 * batch_bytes)


def leftover_spills() -> list[Path]:
    """The spill folders of runs no longer running (killed past their memory limit)."""
    return sorted(folder for folder in Path(tempfile.gettempdir()).glob(f"{SPILL_PREFIX}*")
                  if processes.gone(folder.name[len(SPILL_PREFIX):].split("-", 1)[0]))


class CorruptFileError(LensError):
    """A file in the lake is not Parquet (damaged, or put there by hand)."""


MAGIC = b"PAR1"


def looks_like_parquet(path: Path) -> bool:
    """Magic bytes at both ends and a footer that fits: cheap enough to ask of every file at
    every run (a footer read is not), and it catches garbage and truncated files."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < 12 or handle.read(4) != MAGIC:
                return False
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError:
        return False
    return tail[4:] == MAGIC and int.from_bytes(tail[:4], "little") <= size - 12


def check_readable(root: Path) -> None:
    """Stop before any work if a span file is not Parquet: every read of its day would fail far
    from the cause. `doctor` names such files and `doctor --fix` moves them aside."""
    broken = [path for path in sorted(root.glob(f"{PARTITION_COLUMN}=*/*.parquet")) if not looks_like_parquet(path)]
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise CorruptFileError(f"{broken[0]}: not a readable Parquet file{more}; "
                               "run `python -m lens_etl doctor`, `doctor --fix` moves it to the quarantine folder")


EPOCH = date(1970, 1, 1)  # day 0 of Arrow's date32


class Lake:
    """The span lake under one root; remembers the span ids of the partitions it touched lately
    (past REMEMBERED_IDS ids, those of the idle days go: `_forget_idle_days`)."""

    def __init__(self, root: Path, run_id: str, recover: bool = True, buffer_bytes: int = BUFFER_BYTES,
                 memory_bytes: int = RUN_MEMORY_BYTES) -> None:
        self.root = root
        self.buffer_bytes = buffer_bytes
        self.run_id = run_id
        self.root.mkdir(parents=True, exist_ok=True)
        if recover:  # before anything is opened: a run that stops here leaves nothing behind
            check_readable(root)
        self._seq = 0
        self._loaded: set[date] = set()
        self._ids_by_hash: dict[date, tuple[np.ndarray, pa.Array]] = {}  # a day's id hashes, sorted, and its ids in that order
        self._in_known: set[date] = set()  # days whose ids are in the `known` table
        self._traced: set[date] = set()
        self._touched: set[date] = set()
        self._remembered: dict[date, int] = {}  # ids in `known` by day, in the order days were last used
        self._forgotten: set[date] = set()
        self._closed = False
        # a folder of its own: DuckDB names its spill files alike in every database
        self.spill_dir = Path(tempfile.gettempdir()) / f"{SPILL_PREFIX}{os.getpid()}-{run_id}-{uuid.uuid4().hex[:12]}"
        self.con = duckdb.connect(config={"memory_limit": f"{max(1, memory_bytes >> 20)}MB", "temp_directory": str(self.spill_dir)})
        # Held rows are written in the background while the next batches are read and normalized;
        # at most one spill is in flight, its day files two at a time (the last spill is written
        # while nothing else runs: a 1M-span load's took 2.8 s on one thread, 1.4 s on two).
        self._writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lake-write")
        self._pending: list[Future[None]] = []
        self._held: dict[date, list[pa.Table]] = {}
        self._held_bytes = 0
        self.con.execute(TRACE_TABLES_SQL)
        if recover:  # readers that only look (doctor, stale_days) leave a dead run's files be
            with unless_busy(root) as free:  # another run's files in the making are not leftovers
                if free:
                    self.recover()

    def close(self) -> None:
        """Writes the rows still held and waits for every file (their errors surface in `flush`);
        the span ids and traces it remembered go. A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.drain()
        finally:
            self._writer.shutdown(wait=True)
            self.con.close()

    def _spill(self) -> None:
        """Each day's held rows to one new file, written in the background."""
        for day in sorted(self._held):
            self._seq += 1
            target = partition_dir(self.root, day) / f"part-{self.run_id}-{self._seq:05d}.parquet"
            self._pending.append(self._writer.submit(_write_day, self._held[day], target))
        self._held, self._held_bytes = {}, 0

    def drain(self) -> None:
        """Every row written so far is in a file."""
        self._spill()
        self.flush()

    def flush(self) -> None:
        """Wait until every file handed to the writer is in place; raises the first write error."""
        pending, self._pending = self._pending, []
        for job in pending:
            job.result()

    def files(self, day: date) -> list[Path]:
        return sorted(partition_dir(self.root, day).glob("*.parquet"))

    def partitions(self) -> list[date]:
        days = (partition_day(folder) for folder in self.root.glob(f"{PARTITION_COLUMN}=*"))
        return sorted(day for day in days if day is not None)

    def recover(self) -> None:
        """Finish what a killed run left: half-written files go, a compaction completes, the tables
        it spilled go."""
        for folder in leftover_spills():
            shutil.rmtree(folder, ignore_errors=True)
        for tmp in self.root.glob(f"{PARTITION_COLUMN}=*/*.tmp"):
            tmp.unlink(missing_ok=True)
        for journal in self.root.glob(f"{PARTITION_COLUMN}=*/{JOURNAL}"):
            plan = json.loads(journal.read_text())
            if (journal.parent / plan["output"]).exists():
                for name in plan["inputs"]:
                    (journal.parent / name).unlink(missing_ok=True)
            journal.unlink()

    def _load_ids(self, days: list[date]) -> None:
        """Span ids of partitions not yet seen, each day's sorted by their hash (what `known()`
        looks a batch's keys up in)."""
        for day in days:
            if day in self._loaded:
                continue
            if day in self._forgotten and self._pending:  # the files this run is writing for it count too
                self.flush()
            self._loaded.add(day)
            paths = [str(p) for p in self.files(day)]
            if paths:
                ids = self.con.execute(f"SELECT hash(span_id) AS span_hash, span_id FROM {parquet_files(paths)}").to_arrow_table()
                hashes = ids["span_hash"].to_numpy()
                order = np.argsort(hashes)
                self._ids_by_hash[day] = (hashes[order], ids["span_id"].take(order).combine_chunks())
                self._remember(day, ids.num_rows)

    def _fill_known(self) -> None:
        """The loaded days' ids into the `known` table, which a write's query checks: only once
        there is something to write (a run of duplicates never needs them there)."""
        for day in sorted(self._ids_by_hash.keys() - self._in_known):
            self._in_known.add(day)
            ids = self._ids_by_hash[day][1]
            self.con.register("day_ids", pa.table({"span_id": ids}))
            self.con.execute("INSERT INTO known SELECT span_id, $day FROM day_ids", {"day": day})
            self.con.unregister("day_ids")

    def _remember(self, day: date, ids: int) -> None:
        """Count a day's ids in `known`, and make it the most recently used day."""
        self._remembered[day] = self._remembered.pop(day, 0) + ids

    def _forget_idle_days(self, busy: set[date]) -> None:
        """Past REMEMBERED_IDS, forget the least recently used days (not the batch's own, and none
        whose rows are still held) until half the budget is left: their ids, their traces."""
        left = sum(self._remembered.values())
        if left <= REMEMBERED_IDS:
            return
        idle = []
        for day, ids in self._remembered.items():  # oldest use first
            if left <= REMEMBERED_IDS // 2:
                break
            if day not in busy and day not in self._held:
                idle.append(day)
                left -= ids
        if not idle:
            return
        self.con.register("idle_days", pa.table({"day": pa.array(idle, pa.date32())}))
        self.con.execute("DELETE FROM known WHERE event_date IN (SELECT day FROM idle_days)")
        self.con.execute("DELETE FROM trace_info WHERE event_date IN (SELECT day FROM idle_days)")
        self.con.unregister("idle_days")
        self._forgotten.update(idle)
        for day in idle:
            del self._remembered[day]
            self._ids_by_hash.pop(day, None)
            self._loaded.discard(day)
            self._in_known.discard(day)
            self._traced.discard(day)
        memory.release_freed()

    def _load_traces(self) -> None:
        """Which traces know their session, in every partition whose ids were loaded: needed only
        once there is something to write (a run of duplicates never reads them)."""
        for day in sorted(self._loaded - self._traced):
            self._traced.add(day)
            paths = [str(p) for p in self.files(day)]
            if paths:
                self.con.execute(f"CREATE OR REPLACE TEMP VIEW partition_rows AS SELECT * FROM {parquet_files(paths)}")
                self._remember_traces(day)

    def _remember_traces(self, day: date | None) -> None:
        for sql in REMEMBER_TRACES_SQL:
            self.con.execute(sql, {"day": day})

    def _repair_sessions(self) -> None:
        """Rewrite partitions holding spans whose trace's session arrived in a later batch
        (an OTel parent ends, and is exported, after its children)."""
        days = [row[0] for row in self.con.execute(
            "SELECT DISTINCT p.event_date FROM provisional AS p JOIN trace_info AS t USING (trace_id)"
        ).fetchall()]
        if days:
            self.drain()  # a partition is rewritten from all its files
        for day in days:
            self._rewrite(day, self.files(day), FILL_FROM_TRACES_SQL.format(source="rows_in"))
        self.con.execute("DELETE FROM provisional WHERE trace_id IN (SELECT trace_id FROM trace_info)")

    def known(self, keys: pa.Table) -> np.ndarray:
        """For each (span_id, span_hash, event_date) of a batch (`sql/normalize/05_keys.sql`),
        whether the lake already holds that span on that day. A join would scan every id loaded,
        for every batch; a binary search of the day's sorted hashes, confirmed by the id itself
        (two ids may share a hash), touches only the batch's own. A span with the same id on
        another day is still counted as a duplicate when it is written."""
        found = np.zeros(keys.num_rows, dtype=bool)
        hashes = keys["span_hash"].fill_null(0).to_numpy()
        day_numbers = keys[PARTITION_COLUMN].cast(pa.int32()).fill_null(-1).to_numpy()
        self._forget_idle_days({EPOCH + timedelta(days=int(n)) for n in np.unique(day_numbers) if n >= 0})
        by_day = np.argsort(day_numbers, kind="stable")
        for rows in np.split(by_day, np.flatnonzero(np.diff(day_numbers[by_day])) + 1):
            if not len(rows) or day_numbers[rows[0]] < 0:  # no rows, or records without a day
                continue
            day = EPOCH + timedelta(days=int(day_numbers[rows[0]]))
            self._load_ids([day])
            self._remember(day, 0)
            index = self._ids_by_hash.get(day)
            if index is None:  # a day the lake does not hold
                continue
            day_hashes, day_ids = index
            rows = rows[np.argsort(hashes[rows])]  # the lookups walk the day's hashes in order: fewer cache misses
            at = np.minimum(np.searchsorted(day_hashes, hashes[rows]), len(day_hashes) - 1)
            hit = day_hashes[at] == hashes[rows]
            same = pc.fill_null(pc.equal(day_ids.take(at[hit]), keys["span_id"].take(rows[hit])), False)
            found[rows[hit][same.to_numpy(zero_copy_only=False)]] = True
        return found

    def write(self, spans: pa.Table) -> WriteResult:
        """Append the spans the lake does not hold yet; duplicates (in the batch too) are counted."""
        if spans.num_rows == 0:
            return WriteResult(0, 0)
        self.flush()  # the files of the previous spill: at most one in flight
        days = pc.unique(spans[PARTITION_COLUMN]).to_pylist()
        self._forget_idle_days(set(days))
        self._load_ids(days)
        self._fill_known()
        self._load_traces()
        # Which rows are new, in what order, and their trace-lent fields, from the narrow columns
        # only; the wide rows (previews, metadata) are then taken once, in Arrow, not copied
        # through a window and a sort.
        incoming = spans.select(["span_id", "trace_id", "start_time", PARTITION_COLUMN, *TRACE_LENT])
        incoming = incoming.append_column("_row", pa.array(np.arange(spans.num_rows, dtype=np.int64)))
        self.con.register("incoming", incoming)
        try:
            chosen = self.con.execute(
                f"""
                WITH rows_in AS (SELECT * FROM incoming), filled AS ({FILL_FROM_TRACES_SQL.format(source="rows_in")})
                SELECT _row, {", ".join(TRACE_LENT)} FROM filled AS i
                WHERE NOT EXISTS (SELECT 1 FROM known AS k WHERE k.span_id = i.span_id)
                QUALIFY row_number() OVER (PARTITION BY span_id ORDER BY start_time) = 1
                ORDER BY event_date, start_time
                """
            ).to_arrow_table()
            fresh = spans.take(chosen["_row"])
            for name in TRACE_LENT:
                fresh = fresh.set_column(fresh.schema.get_field_index(name), fresh.schema.field(name),
                                         chosen[name].cast(fresh.schema.field(name).type))
            self.con.register("fresh", fresh)
            self.con.execute(f"INSERT INTO known SELECT span_id, {PARTITION_COLUMN} FROM fresh")
            self.con.execute("CREATE OR REPLACE TEMP VIEW partition_rows AS SELECT * FROM fresh")
            self._remember_traces(None)
            self.con.unregister("fresh")
        finally:
            self.con.unregister("incoming")
        fresh = fresh.cast(SPAN_SCHEMA)
        for day in days:  # the batch's days are the most recently used
            self._remember(day, 0)
        for day, rows in _by_day(fresh):
            self._remember(day, rows.num_rows)
            self._held.setdefault(day, []).append(rows.drop_columns([PARTITION_COLUMN]))
            self._held_bytes += rows.nbytes
            self._touched.add(day)
        if self._held_bytes >= self.buffer_bytes:
            self._spill()
        self._repair_sessions()
        return WriteResult(written=fresh.num_rows, duplicates=spans.num_rows - fresh.num_rows)

    def compact(self, min_files: int, days: list[date] | None = None, keep_time: bool = True) -> int:
        """Merge partitions of many small files into one sorted file each; returns how many.
        `keep_time`: the merged file takes the newest input's time, as its spans are the same: the
        day's rollups are as current as they were (a `compact` alone leaves none stale for the
        next ingest to recompute, nor for `doctor` to report)."""
        self.drain()
        merged = 0
        for day in days if days is not None else self.partitions():
            inputs = self.files(day)
            if len(inputs) >= min_files:
                newest = max(path.stat().st_mtime_ns for path in inputs)
                output = self._rewrite(day, inputs, "SELECT * FROM rows_in")
                if keep_time and output is not None:
                    os.utime(output, ns=(newest, newest))
                memory.release_freed()  # a day's rows at a time: what each held goes back
                merged += 1
        return merged

    def _rewrite(self, day: date, inputs: list[Path], select_sql: str) -> Path | None:
        """Replace a partition's files by one sorted file, journaled: a crash between the
        rename and the deletes is finished by `recover`, never leaving duplicates. Returns the file."""
        if not inputs:
            return None
        folder = partition_dir(self.root, day)
        output = f"part-compact-{uuid.uuid4().hex[:12]}.parquet"
        journal = folder / JOURNAL
        journal.write_text(json.dumps({"output": output, "inputs": [p.name for p in inputs]}))
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW rows_in AS SELECT * FROM {parquet_files(inputs)}")
        table = self.con.execute(f"SELECT * FROM ({select_sql})").to_arrow_table()
        write_span_file(_conform(table), folder / output)
        for path in inputs:
            path.unlink(missing_ok=True)
        journal.unlink()
        self._touched.add(day)
        return folder / output

    @property
    def touched(self) -> list[date]:
        return sorted(self._touched)


def write_span_file(table: pa.Table, target: Path) -> None:
    """One day's spans (FILE_SCHEMA) as a file: cut by time into row groups, each in ROW_GROUP_ORDER."""
    by_time = pc.sort_indices(table, [("start_time", "ascending")])
    keys = table.select(list(ROW_GROUP_ORDER)).take(by_time)  # the narrow columns: the wide rows move once
    keys = keys.append_column("_group", pa.array(np.arange(table.num_rows, dtype=np.int64) // ROW_GROUP_ROWS))
    order = pc.sort_indices(keys, [("_group", "ascending"), *((name, "ascending") for name in ROW_GROUP_ORDER)])
    levels = {name: WIDE_ZSTD_LEVEL if name in WIDE_COLUMNS else SPAN_ZSTD_LEVEL for name in table.column_names}
    write_parquet_atomic(table.take(by_time.take(order)), target, zstd_level=levels, encodings=SPAN_ENCODINGS,
                         page_bytes=SPAN_PAGE_BYTES)


def _write_day(parts: list[pa.Table], target: Path) -> None:
    """One day's rows of several batches as one file."""
    table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    write_span_file(table.cast(FILE_SCHEMA), target)


def _by_day(table: pa.Table) -> Iterator[tuple[date, pa.Table]]:
    """Zero-copy slices of a table already sorted by event_date, one per day."""
    days = table[PARTITION_COLUMN].to_numpy()
    if len(days) == 0:
        return
    starts = np.flatnonzero(np.concatenate(([True], days[1:] != days[:-1])))
    bounds = [*starts.tolist(), len(days)]
    for begin, end in zip(bounds[:-1], bounds[1:]):
        yield days[begin].astype(object), table.slice(begin, end - begin)


def parquet_files(paths: list[Path] | list[str], hive: bool = False) -> str:
    """read_parquet over our own files, as SQL text (a view cannot take parameters); `hive`
    adds event_date from a partition's folder name."""
    quoted = ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths)
    partitioning = ", hive_partitioning = true, hive_types = {'event_date': DATE}" if hive else ""
    return f"read_parquet([{quoted}], union_by_name = true{partitioning})"


def _conform(table: pa.Table) -> pa.Table:
    """Older files may lack a column added later: add it as nulls, in schema order."""
    columns = []
    for field in FILE_SCHEMA:
        if field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=FILE_SCHEMA)
