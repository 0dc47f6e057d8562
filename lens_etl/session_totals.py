"""Session totals: the derived rollup behind the `sessions` view, one row per session.

A session's rows of `session_days` may lie on several days (past midnight, a session resumed
later), so its totals are no one day's rollup, and adding up every day on each query costs a
screen 100-200 ms (seconds over a year). The totals are kept in ten-day files by the period of
the session's first day. After an ingest's day rollups, only the sessions with a row on a
touched day (now, or before the ingest) are added up again, from the days they span, and only
their periods' files are rewritten. A marker newer than every `session_days` day file says the
totals are current; a run killed between the two is caught up by adding up every session again.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from .config import Settings
from .lake import parquet_files, write_parquet_atomic
from .rollup_files import PERIOD_ROW_GROUP_ROWS, PERIODS_DIR, day_files, period_of, plain_counts
from .warehouse import derived_sql

NAME = "session_totals"
SOURCE = "session_days"
MARKER = "_current"
# Sessions are added up this many `session_days` rows at a time (split by a hash of the session
# id, so a session's rows are in one pass): the lists of a session's trace ids are held until its
# group is done, and DuckDB cannot spill those to disk. A year of 100k spans a day (2.2M rows) in
# one pass: 2.2 GB of memory.
ROWS_PER_PASS = 400_000


def query() -> str:
    return derived_sql(NAME)


def folder(settings: Settings) -> Path:
    return settings.lake_dir / "rollups" / NAME


def _day_files(settings: Settings) -> dict[date, Path]:
    """The per-day `session_days` files, by day."""
    return {day: path for day, (path, _) in day_files(settings.lake_dir / "rollups" / SOURCE).items()}


def is_current(settings: Settings) -> bool:
    """Whether the totals were added up after every `session_days` day file was last written."""
    written = [when for _, when in day_files(settings.lake_dir / "rollups" / SOURCE).values()]
    marker = folder(settings) / MARKER
    if not marker.exists():
        return not written
    stamp = marker.stat().st_mtime_ns
    return all(when <= stamp for when in written)


def refresh(settings: Settings, days: list[date], everything: bool = False) -> None:
    """Add up again the sessions with a `session_days` row on these days (before or after their
    day rollups were recomputed); `everything`: every session, rewriting every period file."""
    files = _day_files(settings)
    existing = {path.stem: path for path in sorted((folder(settings) / PERIODS_DIR).glob("*.parquet"))}
    everything = everything or not existing
    if not everything and not days:
        return
    con = duckdb.connect()
    try:
        if everything:
            read, before = sorted(files.values()), set()
        else:
            read, before = _affected(con, files, existing, set(days))
        totals = _totals(con, read, restrict=not everything)
        written = _rewrite_periods(con, settings, totals, before, {} if everything else existing)
        for period, path in existing.items():
            if everything and period not in written:
                path.unlink(missing_ok=True)
    finally:
        con.close()
    marker = folder(settings) / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("the session totals were added up after every session_days day file\n", encoding="utf-8")


def _affected(con: duckdb.DuckDBPyConnection, files: dict[date, Path], existing: dict[str, Path],
              touched: set[date]) -> tuple[list[Path], set[str]]:
    """Fills `affected`: the sessions with a row on a touched day, now or before. Returns the day
    files their rows may be in (the touched days and the days each one spanned before) and the
    periods their totals were kept in."""
    con.execute(f"CREATE TEMP TABLE old AS SELECT session_id, first_day, last_day FROM {parquet_files(list(existing.values()))}")
    now = [files[day] for day in sorted(touched) if day in files]
    current = f"SELECT DISTINCT session_id FROM {parquet_files(now)}" if now else "SELECT session_id FROM old WHERE false"
    con.register("touched", pa.table({"day": pa.array(sorted(touched), pa.date32())}))
    con.execute(f"""
        CREATE TEMP TABLE affected AS
        {current}
        UNION
        SELECT session_id FROM old WHERE EXISTS (SELECT 1 FROM touched WHERE day BETWEEN first_day AND last_day)
    """)
    spans = con.execute("SELECT DISTINCT first_day, last_day FROM old SEMI JOIN affected USING (session_id)").fetchall()
    days = set(touched)
    for first, last in spans:
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return [files[day] for day in sorted(days) if day in files], {period_of(first) for first, _ in spans}


def _totals(con: duckdb.DuckDBPyConnection, read: list[Path], restrict: bool) -> pa.Table | None:
    """The totals of the sessions in `affected` (`restrict`; else of every session) from these
    day files, registered as `totals`; None when there is no file to read."""
    if not read:
        return None
    rows = parquet_files(read, hive=True)
    if restrict:
        rows = f"(SELECT * FROM {rows} SEMI JOIN affected USING (session_id))"
    passes = max(1, -(-con.execute(f"SELECT count(*) FROM {parquet_files(read)}").fetchone()[0] // ROWS_PER_PASS))
    parts = []
    for part in range(passes):  # each a share of the sessions, by a hash of their ids
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SOURCE} AS SELECT * FROM {rows} WHERE hash(session_id) % {passes} = {part}")
        parts.append(plain_counts(con.execute(query()).to_arrow_table()))
    totals = pa.concat_tables(parts).combine_chunks()
    con.register("totals", totals)
    return totals


def _rewrite_periods(con: duckdb.DuckDBPyConnection, settings: Settings, totals: pa.Table | None,
                     before: set[str], kept: dict[str, Path]) -> set[str]:
    """Each period file the new totals or the affected sessions' old ones are in: its `kept` rows
    but the affected sessions', and the new totals of the sessions that start in it, sorted by
    first day (row groups skip the days outside a window). Returns the periods written."""
    first_days = sorted(set(totals.column("first_day").to_pylist())) if totals is not None else []
    con.register("periods", pa.table({"first_day": pa.array(first_days, pa.date32()),
                                      "period": [period_of(day) for day in first_days]}))
    written = set()
    for period in sorted({period_of(day) for day in first_days} | before):
        parts = []
        if totals is not None:
            parts.append(f"SELECT * FROM totals SEMI JOIN (SELECT first_day FROM periods WHERE period = '{period}') USING (first_day)")
        if period in kept:
            parts.append(f"SELECT * FROM {parquet_files([kept[period]])} ANTI JOIN affected USING (session_id)")
        table = con.execute(" UNION ALL BY NAME ".join(parts) + " ORDER BY first_day, session_id").to_arrow_table()
        target = folder(settings) / PERIODS_DIR / f"{period}.parquet"
        if table.num_rows:
            write_parquet_atomic(table.cast(totals.schema) if totals is not None else table, target, PERIOD_ROW_GROUP_ROWS)
            written.add(period)
        else:
            target.unlink(missing_ok=True)
    return written
