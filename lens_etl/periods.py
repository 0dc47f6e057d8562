"""The ten-day periods rollups are kept in: days 1-10, 11-20 and 21 to the month's end.

A screen opens a few files, not one per day (footers cost more than their rows), and an ingest
rewrites ten days' files, not a month's.
"""
from __future__ import annotations

from datetime import date

PERIODS_DIR = "periods"
# Row groups of a period file: about a day of the larger rollups each, so a query over a few days
# (an alert's baseline hours, a window's edges) skips the rest.
PERIOD_ROW_GROUP_ROWS = 16_384


def period_of(day: date) -> str:
    """The ten-day period of a day: 2026-11-1 is the 1st to the 10th."""
    return f"{day:%Y-%m}-{min((day.day - 1) // 10, 2) + 1}"
