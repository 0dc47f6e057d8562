"""Rollups: per-day Parquet aggregates beside the spans, so screens need not scan every span.

Each partition an ingest touches gets its rollups recomputed from its own spans (a day is
small), through the same `spans` view logic the warehouse uses, and swapped in atomically.
`rebuild` recomputes all of them; sums over a rollup equal the same sums over `spans`.
"""
from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb

from .config import Settings
from .lake import Lake, partition_dir, write_parquet_atomic
from .warehouse import SQL_DIR

ROLLUPS = (
    "hourly_metrics", "session_days", "tool_calls", "session_activity", "latency_histogram",
    "tool_transitions", "error_types", "filter_values",
)
# Rollups that also read the previous day's spans (a tool's caller, a session's previous tool call
# may sit before midnight); they are recomputed for the day after every day an ingest touches too.
LOOKBACK = ("tool_calls", "session_activity", "latency_histogram", "tool_transitions")
# How a month file is sorted: by day, so row groups prune on event_date; requests and tool calls
# apart, so a request-latency query skips the (larger) tool-call row groups.
COMPACT_ORDER = {"latency_histogram": "kind, event_date"}


def rollup_dir(settings: Settings, name: str) -> Path:
    return settings.lake_dir / "rollups" / name


def _load_day(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> None:
    """One day's span files into memory once, for all the rollups that read them."""
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_parquet([{quoted}], union_by_name = true, "
        f"hive_partitioning = true, hive_types = {{'event_date': DATE}})"
    )


def _spans_view_sql(relation: str) -> str:
    return (SQL_DIR / "00_spans.sql").read_text(encoding="utf-8").replace("{{spans}}", relation)


def refresh(settings: Settings, days: list[date]) -> int:
    """Recompute every rollup of these days from their spans (and the LOOKBACK rollups of the
    day after each); returns how many days."""
    lake = Lake(settings.spans_dir, "rollup")
    con = duckdb.connect()
    touched = set(days)
    following = {day + timedelta(days=1) for day in touched} - touched
    try:
        for day in sorted(touched | following):
            files = lake.files(day)
            names = ROLLUPS if day in touched else LOOKBACK
            if not files:
                for name in names:
                    shutil.rmtree(partition_dir(rollup_dir(settings, name), day), ignore_errors=True)
                continue
            _load_day(con, "day_rows", files)
            previous = lake.files(day - timedelta(days=1))
            if previous:
                _load_day(con, "previous_rows", previous)
            for name in names:
                target = partition_dir(rollup_dir(settings, name), day) / "rollup.parquet"
                with_previous = name in LOOKBACK and previous
                con.execute(_spans_view_sql(
                    "(SELECT * FROM previous_rows UNION ALL BY NAME SELECT * FROM day_rows)" if with_previous else "day_rows"
                ))
                table = con.execute((SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")).to_arrow_table()
                write_parquet_atomic(table, target)
        _compact(settings, con, {f"{day:%Y-%m}" for day in touched | following})
    finally:
        con.close()
        lake.close()
    return len(days)


def month_file(settings: Settings, name: str, month: str) -> Path:
    return rollup_dir(settings, name) / "months" / f"{month}.parquet"


def _compact(settings: Settings, con: duckdb.DuckDBPyConnection, months: set[str]) -> None:
    """Each rollup's days of these months as one file sorted by day (the views read these): a
    screen then opens a few files, not one per day, whose footers cost more than their rows."""
    for name in ROLLUPS:
        for month in sorted(months):
            days = sorted(rollup_dir(settings, name).glob(f"event_date={month}-*/rollup.parquet"))
            target = month_file(settings, name, month)
            if not days:
                target.unlink(missing_ok=True)
                continue
            quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in days)
            table = con.execute(
                f"SELECT * FROM read_parquet([{quoted}], union_by_name = true, hive_partitioning = true, "
                f"hive_types = {{'event_date': DATE}}) ORDER BY {COMPACT_ORDER.get(name, 'event_date')}"
            ).to_arrow_table()
            write_parquet_atomic(table, target)


def stale_days(settings: Settings) -> list[date]:
    """Days whose spans changed after their rollups were written (or that have none):
    a killed run's partitions are caught up by the next run, whatever it ingests."""
    lake = Lake(settings.spans_dir, "rollup", recover=False)
    try:
        stale = []
        for day in lake.partitions():
            newest = max((p.stat().st_mtime_ns for p in lake.files(day)), default=0)
            for name in ROLLUPS:
                target = partition_dir(rollup_dir(settings, name), day) / "rollup.parquet"
                month = month_file(settings, name, f"{day:%Y-%m}")
                if (not target.exists() or target.stat().st_mtime_ns < newest
                        or not month.exists() or month.stat().st_mtime_ns < target.stat().st_mtime_ns):
                    stale.append(day)
                    break
        return stale
    finally:
        lake.close()


def refresh_stale(settings: Settings) -> int:
    return refresh(settings, stale_days(settings))


def rebuild(settings: Settings) -> int:
    """Every rollup from scratch, dropping those of days no longer in the lake."""
    lake = Lake(settings.spans_dir, "rollup")
    days = lake.partitions()
    lake.close()
    for name in ROLLUPS:
        folder = rollup_dir(settings, name)
        if folder.exists():
            for stale in folder.glob("event_date=*"):
                if date.fromisoformat(stale.name.split("=", 1)[1]) not in days:
                    shutil.rmtree(stale, ignore_errors=True)
            shutil.rmtree(folder / "months", ignore_errors=True)
    return refresh(settings, days)
