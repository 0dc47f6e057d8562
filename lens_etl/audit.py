"""The audit log: who viewed, exported or changed what, and failed logins.

Append-only: one small Parquet file per event under data/audit/ (written as .tmp and
renamed in, like the ledger), read by the `audit_log` view (sql/70_audit.sql).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.parquet as pq

from .lake import write_parquet_atomic

AUDIT_SCHEMA = pa.schema([
    ("occurred_at", pa.timestamp("us")),
    ("actor", pa.string()),
    ("role", pa.string()),
    ("action", pa.string()),
    ("target", pa.string()),
    ("detail", pa.string()),
])
SEED = "00000000T000000000000-seed.parquet"  # an empty file, so the view's glob always matches
_STAMP = "%Y%m%dT%H%M%S%f"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def record(folder: Path, actor: str, action: str, target: str = "", detail: Mapping[str, Any] | str = "",
           role: str = "") -> None:
    """Append one event; `detail` (filters, counts…) is kept as JSON text."""
    at = _now()
    text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str)
    row = {"occurred_at": at, "actor": actor, "role": role, "action": action, "target": target, "detail": text}
    name = f"{at.strftime(_STAMP)}-{action}-{uuid.uuid4().hex[:8]}.parquet"
    write_parquet_atomic(pa.Table.from_pylist([row], schema=AUDIT_SCHEMA), folder / name)


def ensure_seed(folder: Path) -> None:
    """An empty typed file, so `read_parquet(audit/*.parquet)` works before the first event."""
    if not (folder / SEED).exists():
        write_parquet_atomic(AUDIT_SCHEMA.empty_table(), folder / SEED)


def recent(folder: Path, action: str, target: str, within: timedelta) -> int:
    """How many `action` events on `target` in the last `within` (file names carry the time,
    so only that window's files are read)."""
    since = (_now() - within).strftime(_STAMP)
    count = 0
    for path in folder.glob(f"*-{action}-*.parquet"):
        if path.name[: len(since)] >= since:
            table = pq.read_table(path, columns=["target"])
            count += table["target"].to_pylist().count(target)
    return count
