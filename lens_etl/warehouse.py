"""The DuckDB file: views from sql/*.sql over the lake, rebuilt beside and swapped in.

DuckDB allows one writer process or many readers. Ingest never opens the live file for
writing: it builds `lens.duckdb.tmp` and renames it over `lens.duckdb`, so the app (and
`duckdb -readonly`) keep reading the old file until they reconnect to the new one.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from . import audit
from .config import Settings
from .schema import ALERT_EVENT_SCHEMA, DEAD_LETTER_SCHEMA, INGEST_RUN_SCHEMA, SPAN_SCHEMA

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def empty_relation(schema: pa.Schema) -> str:
    """A typed relation with no rows, so views work on an empty lake."""
    columns = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[f.type]}) AS {f.name}" for f in schema)
    return f"(SELECT {columns} WHERE false)"


def _unify_option(files: list[Path]) -> str:
    """union_by_name only when the files' schemas differ (a lake written by an older release): it
    makes every query read every file's footer while binding, ~10 ms per 100 files."""
    schemas = {pq.read_schema(path).remove_metadata() for path in files}
    return "union_by_name = true" if len(schemas) > 1 else "union_by_name = false"


def files_relation(folder: Path, pattern: str, schema: pa.Schema, hive: bool = False) -> str:
    """read_parquet over the folder's files, or the empty relation while there are none. A lake's
    partitions (hive) are compacted to a file or a few each, so their schemas are checked; the
    ledgers (one small file per run or event) always unify by name."""
    files = sorted(folder.glob(pattern))
    if not files:
        return empty_relation(schema)
    if hive:
        options = _unify_option(files) + ", hive_partitioning = true, hive_types = {'event_date': DATE}"
    else:
        options = "union_by_name = true"
    return f"read_parquet({_literal(str(folder / pattern))}, {options})"


def rollup_relation(settings: Settings, name: str) -> str:
    """A rollup's Parquet files (one per ten days, else its daily ones), or (while there are none)
    its query over the empty spans view."""
    folder = settings.lake_dir / "rollups" / name
    periods = sorted(folder.glob("periods/*.parquet"))
    if periods:  # one file per ten days, sorted by day (rollups._compact_period)
        return f"read_parquet({_literal(str(folder / 'periods' / '*.parquet'))}, {_unify_option(periods)})"
    if any(folder.glob("event_date=*/*.parquet")):
        return files_relation(folder, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True)
    query = (SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")
    return f"(SELECT *, CAST(NULL AS DATE) AS event_date FROM ({query}) WHERE false)"


def view_files() -> list[Path]:
    return sorted(SQL_DIR.glob("[0-9]*.sql"))


def render_views(settings: Settings) -> str:
    """The view SQL with the lake's absolute locations filled in."""
    relations = {
        "{{spans}}": files_relation(settings.spans_dir, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True),
        "{{dead_letters}}": files_relation(settings.deadletter_dir, "*.parquet", DEAD_LETTER_SCHEMA),
        "{{ingest_runs}}": files_relation(settings.runs_dir, "*.parquet", INGEST_RUN_SCHEMA),
        **{"{{" + path.stem + "}}": rollup_relation(settings, path.stem) for path in (SQL_DIR / "rollups").glob("*.sql")},
        "{{alert_history}}": files_relation(settings.data_dir / "alerts", "*.parquet", ALERT_EVENT_SCHEMA),
        "{{audit_log}}": files_relation(settings.audit_dir, "*.parquet", audit.AUDIT_SCHEMA),
    }
    parts = []
    for path in view_files():
        sql = path.read_text(encoding="utf-8")
        for token, relation in relations.items():
            sql = sql.replace(token, relation)
        parts.append(f"-- {path.name}\n{sql}")
    return "\n".join(parts)


def build(settings: Settings) -> Path:
    """Create every view in a fresh file and swap it in atomically."""
    target = settings.duckdb_path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    audit.ensure_seed(settings.audit_dir)  # the view then reads the folder, seeing events written later
    con = duckdb.connect(str(tmp))
    try:
        con.execute(render_views(settings))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, target)
    return target


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A reader's connection; never takes the write lock. Parquet footers are cached across
    queries and cursors (GLOBAL: each screen query runs on its own cursor): a screen reads dozens
    of small rollup files, whose footers cost more than their rows."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("SET GLOBAL parquet_metadata_cache = true")
    return con
