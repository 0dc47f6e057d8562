"""Incremental state: one watermark per (source, project), saved only after a run succeeded.

A watermark holds where the next pull starts: Phoenix's REST cursor (the id of the last span
read, sorted by id so late-arriving spans still come after it), the last span rowid for a
database pull, and the newest span start seen (the fallback, minus an overlap, when the
cursor is no longer valid). Re-reading the overlap is free: the lake dedups by span_id.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .atomic import write_json_atomic

OVERLAP = timedelta(minutes=10)
FILE_NAME = "watermarks.json"


@dataclass
class Watermark:
    cursor: str | None = None
    rowid: int | None = None
    start_time: str | None = None

    def advance_time(self, start_time: object) -> None:
        """Keep the newest span start seen. A server's odd value (epoch number, bad text) must not
        stop a pull: the normalizer judges the span; the watermark takes what it can read."""
        seen, newest = as_utc(start_time), as_utc(self.start_time)
        if seen is not None and (newest is None or seen > newest):
            self.start_time = seen.isoformat()

    def since_with_overlap(self) -> datetime | None:
        start = as_utc(self.start_time)
        return None if start is None else start - OVERLAP


EPOCH_DIGITS = ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3), (0, 1))  # nanoseconds, microseconds, milliseconds, seconds


def as_utc(value: object) -> datetime | None:
    """ISO text (naive means UTC) or an epoch number in s/ms/µs/ns (told apart by size) as an
    aware UTC datetime; None for anything else."""
    try:
        if isinstance(value, str) and value:
            parsed = datetime.fromisoformat(value.strip().replace(" ", "T").replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            divisor = next(d for floor, d in EPOCH_DIGITS if abs(value) >= floor)
            return datetime.fromtimestamp(value / divisor, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


class WatermarkStore:
    """`state_dir/watermarks.json`, rewritten atomically (temp file + os.replace)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE_NAME

    def _load(self) -> dict[str, dict[str, object]]:
        if not self.path.is_file():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8"))

    @staticmethod
    def key(source: str, project: str) -> str:
        return f"{source}#{project}"

    def get(self, source: str, project: str) -> Watermark:
        entry = self._load().get(self.key(source, project), {})
        return Watermark(**{k: v for k, v in entry.items() if k in Watermark.__dataclass_fields__})  # type: ignore[arg-type]

    def put(self, source: str, project: str, mark: Watermark) -> None:
        marks = self._load()
        marks[self.key(source, project)] = {**asdict(mark), "saved_at": datetime.now(timezone.utc).isoformat()}
        write_json_atomic(self.path, marks)
