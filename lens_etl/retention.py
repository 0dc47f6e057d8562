"""Retention and data-subject requests: drop old partitions, purge or export one developer.

A purge rewrites each partition that holds the developer's rows without them (the lake's
journaled `_rewrite`, so a crash never leaves duplicates), recomputes those days' rollups,
and drops dead letters whose raw record holds their id or an identity alias as a whole value.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import rollups
from .config import Settings
from .errors import LensError
from .identity import load_identity
from .lake import Lake, check_readable, partition_dir, write_parquet_atomic
from .schema import DEAD_LETTER_SCHEMA

QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # a double-quoted string in text that is not JSON
KEEP_OTHERS_SQL = "SELECT * FROM rows_in WHERE developer_id IS DISTINCT FROM (SELECT id FROM purge_target)"


class RetentionError(LensError):
    """A purge or export request is wrong (no such developer, bad output file)."""


@dataclass(frozen=True)
class PurgeResult:
    spans: int
    days: list[date]
    dead_letters: int


def expired_days(settings: Settings, today: date) -> list[date]:
    if not settings.retention_days or settings.retention_days < 1:  # checked at load; never "delete all"
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


def _checked_id(developer: str) -> str:
    """A blank id would match every row with no developer, and every dead letter."""
    if not developer.strip():
        raise RetentionError("--developer: give a developer id (it is empty)")
    return developer


def purge(settings: Settings, developer: str) -> PurgeResult:
    """Remove every row of this developer from the lake, the rollups and the dead letters."""
    developer = _checked_id(developer)
    lake = Lake(settings.spans_dir, "purge")  # first: it stops at a corrupt file before anything is read
    removed = 0
    try:
        days = days_with(settings, developer)
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
    # A purge killed after rewriting some days left their rollups (which still count the
    # developer) older than their spans: the rerun finds no rows there, so those days come from
    # the stale ones, with the days whose spans are gone.
    rollups.refresh(settings, sorted({*days, *rollups.stale_days(settings), *rollups.orphan_days(settings)}))
    return PurgeResult(removed, days, _purge_dead_letters(settings, developer))


def _names(settings: Settings, developer: str) -> frozenset[str]:
    """The developer id and its identity aliases, lower-case: what raw text may name them by."""
    aliases = load_identity(settings.identity_file).aliases
    return frozenset({developer.lower(), *(a for a, (owner, _) in aliases.items() if owner == developer)})


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document, and in the JSON documents held as strings (LiteLLM's
    metadata, tool inputs): where a record names its developer."""
    if isinstance(value, str):
        yield value
        if value[:1] in ("{", "["):
            try:
                yield from _strings(json.loads(value))
            except ValueError:
                pass
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _values_in(raw: str) -> Iterator[str]:
    """The whole values a raw record holds: JSON strings, or for text that is not JSON (a cut-off
    line, a malformed CSV row) its quoted strings and its comma-separated cells."""
    try:
        yield from _strings(json.loads(raw))
        return
    except ValueError:
        pass
    yield from (match.group(1) for match in QUOTED.finditer(raw))
    for row in csv.reader(io.StringIO(raw)):
        yield from row


def _names_one_of(raw: str | None, names: frozenset[str]) -> bool:
    return raw is not None and any(value.strip().lower() in names for value in _values_in(raw))


def _naming(raws: pa.ChunkedArray, names: frozenset[str]) -> pa.Array:
    """Which dead letters hold one of the names as a whole value (not inside another word: `e`
    is not `alice`). A substring test picks the few candidates; only they are parsed."""
    lowered = pc.utf8_lower(raws)
    candidates = pc.fill_null(functools.reduce(pc.or_, (pc.match_substring(lowered, name) for name in names)), False)
    hits = [False] * len(raws)
    for index in pc.indices_nonzero(candidates).to_pylist():
        hits[index] = _names_one_of(raws[index].as_py(), names)
    return pa.array(hits, pa.bool_())


def _purge_dead_letters(settings: Settings, developer: str) -> int:
    names = _names(settings, developer)
    removed = 0
    for path in sorted(settings.deadletter_dir.glob("*.parquet")):
        table = pq.read_table(path)
        kept = table.filter(pc.invert(_naming(table["raw"], names)))
        if kept.num_rows == table.num_rows:
            continue
        removed += table.num_rows - kept.num_rows
        if kept.num_rows:
            write_parquet_atomic(kept.cast(DEAD_LETTER_SCHEMA), path)
        else:
            path.unlink()
    return removed


def export(settings: Settings, developer: str, out: Path) -> int:
    """Write every lake row of this developer to a .parquet or .jsonl file; returns the count."""
    developer = _checked_id(developer)
    if out.suffix not in (".parquet", ".jsonl"):
        raise RetentionError(f"{out}: the output must end in .parquet or .jsonl")
    check_readable(settings.spans_dir)
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
