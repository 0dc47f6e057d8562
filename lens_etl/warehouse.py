"""The DuckDB file: views from sql/*.sql over the lake, rebuilt beside and swapped in.

DuckDB allows one writer process or many readers. Ingest never opens the live file for
writing: it builds `lens.duckdb.tmp` and renames it over `lens.duckdb`, so the app (and
`duckdb -readonly`) keep reading the old file until they reconnect to the new one.
"""
from __future__ import annotations

import itertools
import os
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from . import audit, object_store
from .config import Settings
from .schema import ALERT_EVENT_SCHEMA, DEAD_LETTER_SCHEMA, INGEST_RUN_SCHEMA, SPAN_SCHEMA

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DERIVED_DIR = SQL_DIR / "derived"  # rollups added up from other rollups across days, not from a day's spans

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
    return "union_by_name = true" if object_store.schemas_differ(files) else "union_by_name = false"


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


def _period_files_option(settings: Settings, files: list[Path]) -> str:
    """A rollup's period files written by the current rollup queries share one schema: their
    footers (hundreds over a year) need not be read on every build to tell."""
    from . import rollups  # rollups builds on this module

    return "union_by_name = false" if rollups.definitions_current(settings) else _unify_option(files)


def _periods_relation(settings: Settings, name: str) -> str | None:
    """A rollup's ten-day files (rollups._compact_period, session_totals), if it has any."""
    periods = sorted((settings.lake_dir / "rollups" / name / "periods").glob("*.parquet"))
    if not periods:
        return None
    return f"read_parquet({_literal(str(periods[0].parent / '*.parquet'))}, {_period_files_option(settings, periods)})"


def rollup_relation(settings: Settings, name: str) -> str:
    """A rollup's Parquet files (one per ten days, else its daily ones), or (while there are none)
    its query over the empty spans view."""
    folder = settings.lake_dir / "rollups" / name
    if relation := _periods_relation(settings, name):
        return relation
    if any(folder.glob("event_date=*/*.parquet")):
        return files_relation(folder, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True)
    return _empty_rollup(name)


def derived_relation(settings: Settings, name: str) -> str:
    """A derived rollup's ten-day files, or (while there are none) its query over the views it
    reads, evaluated on every query."""
    return _periods_relation(settings, name) or _derived_query(name)


@cache
def derived_sql(name: str) -> str:
    """The query of a derived rollup (sql/derived/), over the rollup views it reads."""
    return (DERIVED_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _derived_query(name: str) -> str:
    return f"({derived_sql(name)}\n)"  # a file may end in a comment


def view_files() -> list[Path]:
    return sorted(SQL_DIR.glob("[0-9]*.sql"))


def _remote_relations(settings: Settings, marker: dict[str, Any], names: set[str]) -> dict[str, str]:
    """The lake's relations at the lake URL; `names` lists its objects. Without a publication
    marker (another engine wrote the lake), span files are unified by name, to be safe."""
    store = object_store.open_store(settings)

    def present(prefix: str) -> bool:
        return any(name.startswith(prefix) and name.endswith(".parquet") for name in names)

    def read(relative: str, options: str) -> str:
        return f"read_parquet({_literal(store.sql_url(relative))}, {options})"

    hive = ", hive_partitioning = true, hive_types = {'event_date': DATE}"
    unify = "union_by_name = false" if marker.get("schemas_differ", {}).get("lake/spans") is False else "union_by_name = true"
    relations = {
        "{{spans}}": read("lake/spans/event_date=*/*.parquet", unify + hive) if present("lake/spans/")
        else empty_relation(SPAN_SCHEMA),
        "{{dead_letters}}": read("deadletter/*.parquet", "union_by_name = true") if present("deadletter/")
        else empty_relation(DEAD_LETTER_SCHEMA),
        "{{ingest_runs}}": read("runs/*.parquet", "union_by_name = true") if present("runs/")
        else empty_relation(INGEST_RUN_SCHEMA),
    }
    for path in [*(SQL_DIR / "rollups").glob("*.sql"), *DERIVED_DIR.glob("*.sql")]:
        folder, derived = f"lake/rollups/{path.stem}", path.parent == DERIVED_DIR
        if present(f"{folder}/periods/"):  # Lens's ten-day files
            relation = read(f"{folder}/periods/*.parquet", "union_by_name = false")
        elif derived:  # another engine's lake: added up on every query
            relation = _derived_query(path.stem)
        elif present(f"{folder}/event_date="):  # a day per partition (Spark)
            relation = read(f"{folder}/event_date=*/*.parquet", "union_by_name = true" + hive)
        else:
            relation = _empty_rollup(path.stem)
        relations["{{" + path.stem + "}}"] = relation
    return relations


def _empty_rollup(name: str) -> str:
    query = (SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")
    return f"(SELECT *, CAST(NULL AS DATE) AS event_date FROM ({query}) WHERE false)"


def render_views(settings: Settings, marker: dict[str, Any] | None = None, names: set[str] | None = None) -> str:
    """The view SQL with the lake's locations filled in: local absolute paths, or (with a lake
    URL) the objects listed there, with `marker` (its `_published.json`) saying whether the span
    files need unifying by name; alert history and audit are always local."""
    if settings.lake_url:
        lake = _remote_relations(settings, marker if marker is not None else object_store.published(settings),
                                 names if names is not None else object_store.listing(settings))
    else:
        lake = {
            "{{spans}}": files_relation(settings.spans_dir, "event_date=*/*.parquet", SPAN_SCHEMA, hive=True),
            "{{dead_letters}}": files_relation(settings.deadletter_dir, "*.parquet", DEAD_LETTER_SCHEMA),
            "{{ingest_runs}}": files_relation(settings.runs_dir, "*.parquet", INGEST_RUN_SCHEMA),
            **{"{{" + p.stem + "}}": rollup_relation(settings, p.stem) for p in (SQL_DIR / "rollups").glob("*.sql")},
            **{"{{" + p.stem + "}}": derived_relation(settings, p.stem) for p in DERIVED_DIR.glob("*.sql")},
        }
    relations = {
        **lake,
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


def _stamp_path(settings: Settings) -> Path:
    """Which publication of the lake URL the views were built against."""
    return settings.duckdb_path.with_name(settings.duckdb_path.name + ".published")


def _publication(settings: Settings) -> tuple[dict[str, Any], set[str] | None, str]:
    """The lake URL's marker, its listing when that had to be read, and what identifies this state
    of the lake: the marker's time, or (a lake another engine writes) which relations have files."""
    marker = object_store.published(settings)
    if marker.get("published_at"):
        return marker, None, str(marker["published_at"])
    names = object_store.listing(settings)
    return marker, names, "listing:" + ",".join(sorted({name.split("/periods/")[0].split("/event_date=")[0]
                                                        for name in names if name.endswith(".parquet")}))


def build(settings: Settings, publish: bool = False) -> Path:
    """Create every view in a fresh file and swap it in atomically. `publish`: this run changed
    the lake, so first mirror it to the lake URL (when there is one)."""
    if publish:
        object_store.publish(settings)
    marker, names, state = _publication(settings) if settings.lake_url else ({}, None, None)
    target = settings.duckdb_path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    audit.ensure_seed(settings.audit_dir)  # the view then reads the folder, seeing events written later
    con = duckdb.connect(str(tmp))
    try:
        _register_lake(con, settings)
        con.execute(render_views(settings, marker, names))  # the listing is read once
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, target)
    if state is not None:
        _stamp_path(settings).write_text(state, encoding="utf-8")
    return target


def refresh_from_lake_url(settings: Settings) -> bool:
    """Rebuild the views when the lake URL has a newer publication than they were built on (a
    reader on another host than the ingest: new partitions and rollups appear through globs, but
    an empty relation becomes a file list only in a rebuild). Returns whether it rebuilt."""
    if not settings.lake_url:
        return False
    _, _, state = _publication(settings)
    stamp = _stamp_path(settings)
    if settings.duckdb_path.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == state:
        return False
    build(settings)
    return True


def _register_lake(con: duckdb.DuckDBPyConnection, settings: Settings | None) -> None:
    """Views over a lake URL read it through its fsspec filesystem, registered on each connection."""
    if settings is not None and settings.lake_url:
        con.register_filesystem(object_store.open_store(settings).fs)


def connect_readonly(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A reader's connection; never takes the write lock. Parquet footers are cached across
    queries and cursors (GLOBAL: each screen query runs on its own cursor): a screen reads dozens
    of small rollup files, whose footers cost more than their rows. With `settings` naming a lake
    URL, the connection can read it."""
    con = duckdb.connect(str(path), read_only=True)
    _register_lake(con, settings)
    _reader_settings(con)
    return con


def _reader_settings(con: duckdb.DuckDBPyConnection) -> None:
    """What every reader's instance runs with: UTC, and Parquet footers cached across cursors."""
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("SET GLOBAL parquet_metadata_cache = true")


_shared: duckdb.DuckDBPyConnection | None = None
_shared_lock = threading.Lock()
_aliases = itertools.count()


def _shared_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's in-memory instance (made on first use); under the lock,
    as two threads must not use the one connection object at once."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = duckdb.connect()
            _reader_settings(_shared)
        return _shared.cursor()


@contextmanager
def attached_readonly(path: Path, settings: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A reader's connection for one short job that a process repeats (alert evaluation after every
    follow batch): the file is attached read-only to one in-memory instance the process keeps.
    Attaching costs ~3 ms where a new instance costs ~20, and the Parquet footers read last time
    stay cached. Each use attaches the file anew, so it reads the views an ingest swapped in.
    Views over a lake URL need its filesystem on the instance: those get a connection of their own."""
    if settings is not None and settings.lake_url:
        own = connect_readonly(path, settings)
        try:
            yield own
        finally:
            own.close()
        return
    alias = f"lens_{next(_aliases)}"
    con = _shared_cursor()
    try:
        con.execute(f"ATTACH {_literal(str(path))} AS {alias} (READ_ONLY)")
        try:
            con.execute(f"USE {alias}")
            yield con
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {alias}")
    finally:
        con.close()


def sibling_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another cursor reading the database `con` USEs, for a query on another thread (the caller closes it)."""
    database = con.execute("SELECT current_database()").fetchone()[0]
    cursor = con.cursor()
    cursor.execute(f'USE "{database}"')
    return cursor
