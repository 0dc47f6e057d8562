"""Incremental state: one watermark per (source, project), saved only after a run succeeded.

A watermark holds where the next pull starts: Phoenix's REST cursor (the id of the last span
read, sorted by id so late-arriving spans still come after it), the last span rowid for a
database pull, and the newest span start seen (the fallback, minus an overlap, when the
cursor is no longer valid). Re-reading the overlap is free: the lake dedups by span_id.
"""
from __future__ import annotations

import json
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

    def advance_time(self, start_time: str | None) -> None:
        """Keep the newest span start seen (ISO text in UTC compares in time order)."""
        if start_time and (self.start_time is None or start_time > self.start_time):
            self.start_time = start_time

    def since_with_overlap(self) -> datetime | None:
        if not self.start_time:
            return None
        start = datetime.fromisoformat(self.start_time.replace(" ", "T"))
        start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        return start - OVERLAP


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
