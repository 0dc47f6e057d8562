"""Retention and data-subject requests: drop old partitions, purge or export one developer.

A purge rewrites each partition that holds the developer's rows without them (the lake's
journaled `_rewrite`, so a crash never leaves duplicates), recomputes those days' rollups,
and drops dead letters whose raw text names them (their id or an identity alias).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from . import rollups
from .config import Settings
from .errors import LensError
from .identity import load_identity
from .lake import Lake, partition_dir, write_parquet_atomic
from .schema import DEAD_LETTER_SCHEMA

KEEP_OTHERS_SQL = "SELECT * FROM rows_in WHERE developer_id IS DISTINCT FROM (SELECT id FROM purge_target)"


class RetentionError(LensError):
    """A purge or export request is wrong (no such developer, bad output file)."""


@dataclass(frozen=True)
class PurgeResult:
    spans: int
    days: list[date]
    dead_letters: int


def expired_days(settings: Settings, today: date) -> list[date]:
    if not settings.retention_days:
        return []
    cutoff = today - timedelta(days=settings.retention_days)
    lake = Lake(settings.spans_dir, "retention")
    try:
        return [d for d in lake.partitions() if d < cutoff]
    finally:
        lake.close()


def drop_expired(settings: Settings, today: date) -> list[date]:
    """Delete the span partitions (and their rollups) older than `[lens] retention_days`."""
    days = expired_days(settings, today)
    for day in days:
        shutil.rmtree(partition_dir(settings.spans_dir, day), ignore_errors=True)
    if days:
        rollups.refresh(settings, days)  # a day without spans loses its rollups, and its period file is redone
    return days


def _spans_relation(settings: Settings) -> str:
    pattern = str(settings.spans_dir / "event_date=*" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', union_by_name = true, hive_partitioning = true, hive_types = {{'event_date': DATE}})"


def _has_spans(settings: Settings) -> bool:
    return any(settings.spans_dir.glob("event_date=*/*.parquet"))


def days_with(settings: Settings, developer: str) -> list[date]:
    if not _has_spans(settings):
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT DISTINCT event_date FROM {_spans_relation(settings)} WHERE developer_id = $d ORDER BY 1",
                           {"d": developer}).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def purge(settings: Settings, developer: str) -> PurgeResult:
    """Remove every row of this developer from the lake, the rollups and the dead letters."""
    days = days_with(settings, developer)
    lake = Lake(settings.spans_dir, "purge")
    removed = 0
    try:
        lake.con.execute("CREATE OR REPLACE TEMP TABLE purge_target AS SELECT CAST($d AS VARCHAR) AS id", {"d": developer})
        for day in days:
            files = lake.files(day)
            before = pq.ParquetDataset([str(f) for f in files]).read(columns=["span_id"]).num_rows
            lake._rewrite(day, files, KEEP_OTHERS_SQL)
            after = sum(pq.ParquetFile(f).metadata.num_rows for f in lake.files(day))
            removed += before - after
            if after == 0:
                shutil.rmtree(partition_dir(settings.spans_dir, day), ignore_errors=True)
    finally:
        lake.close()
    rollups.refresh(settings, days)
    return PurgeResult(removed, days, _purge_dead_letters(settings, developer))


def _names(settings: Settings, developer: str) -> list[str]:
    """The developer id and its identity aliases, lower-case: what raw text may name them by."""
    aliases = load_identity(settings.identity_file).aliases
    return sorted({developer.lower(), *(a for a, (owner, _) in aliases.items() if owner == developer)})


def _purge_dead_letters(settings: Settings, developer: str) -> int:
    names = _names(settings, developer)
    removed = 0
    con = duckdb.connect()
    try:
        for path in sorted(settings.deadletter_dir.glob("*.parquet")):
            table = pq.read_table(path)
            con.register("dead", table)
            kept = con.execute("SELECT * FROM dead WHERE len(list_filter($names, n -> contains(lower(coalesce(raw, '')), n))) = 0",
                               {"names": names}).to_arrow_table()
            con.unregister("dead")
            if kept.num_rows == table.num_rows:
                continue
            removed += table.num_rows - kept.num_rows
            if kept.num_rows:
                write_parquet_atomic(kept.cast(DEAD_LETTER_SCHEMA), path)
            else:
                path.unlink()
    finally:
        con.close()
    return removed


def export(settings: Settings, developer: str, out: Path) -> int:
    """Write every lake row of this developer to a .parquet or .jsonl file; returns the count."""
    if out.suffix not in (".parquet", ".jsonl"):
        raise RetentionError(f"{out}: the output must end in .parquet or .jsonl")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if _has_spans(settings):
            rows = con.execute(f"SELECT * FROM {_spans_relation(settings)} WHERE developer_id = $d ORDER BY start_time",
                               {"d": developer}).to_arrow_table()
        else:
            rows = None
        if rows is None or rows.num_rows == 0:
            raise RetentionError(f"no rows for developer {developer!r} in the lake")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        if out.suffix == ".parquet":
            pq.write_table(rows, tmp, compression="zstd")
        else:
            con.register("rows_out", rows)
            con.execute(f"COPY rows_out TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT json)")
        tmp.replace(out)
        return rows.num_rows
    finally:
        con.close()
