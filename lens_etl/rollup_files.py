"""How rollups are stored: in ten-day periods (days 1-10, 11-20 and 21 to the month's end), so a
screen opens a few files, not one per day (footers cost more than their rows), and an ingest
rewrites ten days' files, not a month's; with their counts as int64.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa

PERIODS_DIR = "periods"
# Row groups of a period file: about a day of the larger rollups each, so a query over a few days
# (an alert's baseline hours, a window's edges) skips the rest.
PERIOD_ROW_GROUP_ROWS = 16_384


def period_of(day: date) -> str:
    """The ten-day period of a day: 2026-11-1 is the 1st to the 10th."""
    return f"{day:%Y-%m}-{min((day.day - 1) // 10, 2) + 1}"


def plain_counts(table: pa.Table) -> pa.Table:
    """DuckDB adds up integers as 128-bit HUGEINTs (decimal128(38, 0) in Parquet): 16 bytes a value
    to store, and slower to add up again on every screen than the int64 any count here fits in."""
    fields = [pa.field(f.name, pa.int64()) if pa.types.is_decimal(f.type) and f.type.scale == 0 else f
              for f in table.schema]
    return table.cast(pa.schema(fields))


def day_files(folder: Path) -> dict[date, tuple[Path, int]]:
    """A rollup's per-day files (event_date=YYYY-MM-DD/rollup.parquet) by day, with when each was
    written: one listing of the folder (a year's lake has hundreds) and one stat a file."""
    if not folder.is_dir():
        return {}
    found = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("event_date="):
                path = Path(entry.path) / "rollup.parquet"
                try:
                    found[date.fromisoformat(entry.name.split("=", 1)[1])] = (path, path.stat().st_mtime_ns)
                except FileNotFoundError:
                    continue
    return dict(sorted(found.items()))
