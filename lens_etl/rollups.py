"""Rollups: per-day Parquet aggregates beside the spans, so screens need not scan every span.

Each partition an ingest touches gets its rollups recomputed from its own spans (a day is
small), through the same `spans` view logic the warehouse uses, and swapped in atomically.
`rebuild` recomputes all of them; sums over a rollup equal the same sums over `spans`.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb

from .config import Settings
from .lake import Lake, partition_dir, write_parquet_atomic
from .warehouse import SQL_DIR

ROLLUPS = ("hourly_metrics", "session_days")


def rollup_dir(settings: Settings, name: str) -> Path:
    return settings.lake_dir / "rollups" / name


def _spans_view_sql(files: list[Path]) -> str:
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    relation = f"read_parquet([{quoted}], union_by_name = true, hive_partitioning = true, hive_types = {{'event_date': DATE}})"
    return (SQL_DIR / "00_spans.sql").read_text(encoding="utf-8").replace("{{spans}}", relation)


def refresh(settings: Settings, days: list[date]) -> int:
    """Recompute every rollup of these days from their spans; returns how many days."""
    lake = Lake(settings.spans_dir, "rollup")
    con = duckdb.connect()
    try:
        for day in days:
            files = lake.files(day)
            for name in ROLLUPS:
                target = partition_dir(rollup_dir(settings, name), day) / "rollup.parquet"
                if not files:
                    shutil.rmtree(target.parent, ignore_errors=True)
                    continue
                con.execute(_spans_view_sql(files))
                table = con.execute((SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")).to_arrow_table()
                write_parquet_atomic(table, target)
    finally:
        con.close()
        lake.close()
    return len(days)


def stale_days(settings: Settings) -> list[date]:
    """Days whose spans changed after their rollups were written (or that have none):
    a killed run's partitions are caught up by the next run, whatever it ingests."""
    lake = Lake(settings.spans_dir, "rollup")
    try:
        stale = []
        for day in lake.partitions():
            newest = max((p.stat().st_mtime_ns for p in lake.files(day)), default=0)
            for name in ROLLUPS:
                target = partition_dir(rollup_dir(settings, name), day) / "rollup.parquet"
                if not target.exists() or target.stat().st_mtime_ns < newest:
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
    return refresh(settings, days)
