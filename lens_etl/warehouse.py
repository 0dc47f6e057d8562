"""The DuckDB file: views from sql/*.sql over the lake and copies of the rollups, rebuilt beside
and swapped in.

DuckDB allows one writer process or many readers. Ingest never opens the live file for
writing: it builds `lens.duckdb.<pid>-<n>.tmp` (from a copy of the live file, whose rollup
tables it brings up to date) and renames it over `lens.duckdb`, so the app (and
`duckdb -readonly`) keep reading the old file until they reconnect to the new one.
"""
from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import shutil
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from . import audit, object_store, processes, rollup_cache
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


def render_views(settings: Settings, marker: dict[str, Any] | None = None, names: set[str] | None = None,
                 cached: dict[str, str] | None = None) -> str:
    """The view SQL with the lake's locations filled in: local absolute paths, or (with a lake
    URL) the objects listed there, with `marker` (its `_published.json`) saying whether the span
    files need unifying by name; alert history and audit are always local. `cached`: the rollups
    read from their copies in the DuckDB file (rollup_cache) rather than their files."""
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
            **{"{{" + name + "}}": relation for name, relation in (cached or {}).items()},
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


def rollup_names() -> list[str]:
    """Every rollup the views read: per day (sql/rollups) and derived (sql/derived)."""
    return sorted(p.stem for p in [*(SQL_DIR / "rollups").glob("*.sql"), *DERIVED_DIR.glob("*.sql")])


# Rollups no screen reads, left out of the DuckDB file's copies (rollup_cache): session_days is what
# `sessions` is added up from (from its files) and, over a year, a third of the copies' size.
UNCACHED = ("session_days",)


def build(settings: Settings, publish: bool = False, next_file: NextFile | None = None) -> Path:
    """Create every view in a fresh file and swap it in atomically. `publish`: this run changed
    the lake, so first mirror it to the lake URL (when there is one). A local lake's file starts
    as a copy of the last one (`next_file`, when the caller started it earlier), whose rollup
    tables are brought up to date (rollup_cache). A build that fails (a full disk) leaves no file
    behind: its copy goes, or it would hold the room the next run needs."""
    upcoming = next_file
    try:
        if publish:
            object_store.publish(settings)
        marker, names, state = _publication(settings) if settings.lake_url else ({}, None, None)
        target = settings.duckdb_path
        target.parent.mkdir(parents=True, exist_ok=True)
        audit.ensure_seed(settings.audit_dir)  # the view then reads the folder, seeing events written later
        sources = {} if settings.lake_url else rollup_cache.scan(settings.lake_dir / "rollups", _cached_names())
        cached = rollup_cache.relations(sources)
        views = render_views(settings, marker, names, cached)  # the listing is read once
        digest = hashlib.sha256(views.encode("utf-8")).hexdigest()
        with _build_lock(target):
            for leftover in leftover_builds(target):
                leftover.unlink(missing_ok=True)
            if not settings.lake_url and _holds(target, digest, sources):
                return target
            upcoming = upcoming or NextFile(settings, background=False)
            con = upcoming.open()
            if not settings.lake_url and (_mostly_free(con) or rollup_cache.mostly_changed(con, sources)):
                con.close()
                con = upcoming.open(empty=True)
            try:
                _register_lake(con, settings)
                if not settings.lake_url:
                    _cache_rollups(con, settings, sources)
                con.execute(views)
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {rollup_cache.SCHEMA}")
                con.execute(f"CREATE OR REPLACE TABLE {VIEWS_DIGEST} AS SELECT ? AS digest", [digest])
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(upcoming.path, target)
            upcoming = None
    finally:
        if upcoming is not None:  # not needed, or the build failed
            upcoming.discard()
    if state is not None:
        _stamp_path(settings).write_text(state, encoding="utf-8")
    return target


VIEWS_DIGEST = f"{rollup_cache.SCHEMA}.views_digest"  # what the file's views were rendered as


def views_current(settings: Settings) -> bool:
    """Whether lens.duckdb holds the views sql/ renders over this data folder now. The views name
    the lake's files by absolute path: a data folder copied elsewhere reads the original's spans
    (or none, once it is gone) until a build; a file built before an upgrade of sql/ lacks its
    changes. True without a file, and with a lake URL (its publication tells)."""
    if settings.lake_url or not settings.duckdb_path.is_file():
        return True
    sources = rollup_cache.scan(settings.lake_dir / "rollups", _cached_names())
    views = render_views(settings, cached=rollup_cache.relations(sources))
    try:
        con = connect_readonly(settings.duckdb_path)
    except duckdb.Error:
        return False
    try:
        return con.execute(f"SELECT digest FROM {VIEWS_DIGEST}").fetchall() == [(hashlib.sha256(views.encode("utf-8")).hexdigest(),)]
    except duckdb.Error:  # a file from before the digest, or damaged
        return False
    finally:
        con.close()


def _holds(target: Path, digest: str, sources: dict[str, rollup_cache.Source]) -> bool:
    """Whether the live file already holds these views over up-to-date copies of the rollup files:
    a run that changed nothing they read (a re-ingest of duplicates) then writes no new file."""
    if not target.is_file():
        return False
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error:
        return False
    try:
        stored = con.execute(f"SELECT digest FROM {VIEWS_DIGEST}").fetchall()
        return stored == [(digest,)] and rollup_cache.out_of_step(con, sources) == 0
    except duckdb.Error:  # a file from before the digest, or damaged
        return False
    finally:
        con.close()


_next_files = itertools.count()


class NextFile:
    """The file the next build writes: a copy of the last one (a local lake's), made on a thread of
    its own when `background`, so that the copy (a year of rollups: ~0.9 GB, about a second) runs
    while the caller computes what the build will read (an ingest: its rollups)."""

    def __init__(self, settings: Settings, background: bool = True) -> None:
        target = settings.duckdb_path
        target.parent.mkdir(parents=True, exist_ok=True)
        self.path = target.with_name(f"{target.name}.{os.getpid()}-{next(_next_files)}.tmp")
        self._previous = target if not settings.lake_url and target.is_file() else None
        self._copied = False
        self._copy = threading.Thread(target=self._copy_previous, daemon=True) if self._previous else None
        if self._copy is not None:
            if background:
                self._copy.start()
            else:
                self._copy.run()

    def _copy_previous(self) -> None:
        try:
            shutil.copyfile(self._previous, self.path)
            self._copied = True
        except OSError:  # gone meanwhile, or no room: the build starts from an empty file
            self.path.unlink(missing_ok=True)

    def discard(self) -> None:
        """No build needs it: the copy goes."""
        if self._copy is not None and self._copy.ident is not None:
            self._copy.join()
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)

    def open(self, empty: bool = False) -> duckdb.DuckDBPyConnection:
        """The copy with its views and macros dropped (each build creates those anew; one a newer
        release dropped must not linger), or an empty file when asked, when there is no copy or
        when it cannot be opened (another release's format, a damaged file)."""
        if self._copy is not None and self._copy.ident is not None:
            self._copy.join()
        if self._copied and not empty:
            try:
                con = duckdb.connect(str(self.path))
            except duckdb.Error:
                pass
            else:
                try:
                    _drop_views_and_macros(con)
                    return con
                except duckdb.Error:
                    con.close()
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        return duckdb.connect(str(self.path))


@contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """One build at a time (an ingest's and an alert run's may meet)."""
    with open(target.with_name(target.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mostly_free(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether most of the file's blocks are free (rows deleted: DuckDB reuses the blocks, but never
    gives them back): a build then starts from an empty file, not a copy twice the size it needs."""
    used, free = con.execute("SELECT used_blocks, free_blocks FROM pragma_database_size() "
                             "WHERE database_name = current_database()").fetchone()
    return free > used


def _drop_views_and_macros(con: duckdb.DuckDBPyConnection) -> None:
    """What render_views creates; a view or macro a newer release dropped must not linger."""
    here = "database_name = current_database() AND NOT internal AND schema_name = 'main'"
    for (name,) in con.execute(f"SELECT view_name FROM duckdb_views() WHERE {here}").fetchall():
        con.execute(f'DROP VIEW IF EXISTS "{name}"')
    for name, kind in con.execute(f"SELECT DISTINCT function_name, function_type FROM duckdb_functions() WHERE {here} "
                                  "AND function_type IN ('macro', 'table_macro')").fetchall():
        con.execute(f'DROP MACRO {"TABLE " if kind == "table_macro" else ""}IF EXISTS "{name}"')


def copies_out_of_step(settings: Settings) -> int:
    """How many rollup files the views' file has not copied yet (changed since the last build, by
    another engine, a killed run or a hand): 0 when it is in step, or has no copies to keep (a lake URL)."""
    if settings.lake_url or not settings.duckdb_path.is_file():
        return 0
    con = connect_readonly(settings.duckdb_path)
    try:
        return rollup_cache.out_of_step(con, rollup_cache.scan(settings.lake_dir / "rollups", _cached_names()))
    finally:
        con.close()


def _cached_names() -> list[str]:
    return [name for name in rollup_names() if name not in UNCACHED]


def leftover_builds(target: Path) -> list[Path]:
    """Files the builds of processes no longer running left (killed mid-build): up to a copy of
    the rollups each."""
    found = [path for path in sorted(target.parent.glob(f"{target.name}.*.tmp*"))
             if processes.gone(path.name[len(target.name) + 1:].split("-", 1)[0])]
    return found + [target.parent / legacy for legacy in (f"{target.name}.tmp", f"{target.name}.tmp.wal")
                    if (target.parent / legacy).exists()]  # before builds had names of their own


def _cache_rollups(con: duckdb.DuckDBPyConnection, settings: Settings, sources: dict[str, rollup_cache.Source]) -> None:
    from . import rollups  # rollups builds on this module

    con.execute("SET memory_limit = '1GB'")  # a first copy of a year's rollups: 0.9 GB, written out as it goes
    con.execute("BEGIN")  # one transaction: rows go to the file's blocks once, not through the WAL first
    rollup_cache.sync(con, sources, unify=not rollups.definitions_current(settings))
    con.execute("COMMIT")


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


FRESH_CATALOG = "lens"  # the name a fresh connection attaches the views' file under


def connect_fresh(path: Path, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A reader's connection for a process that lives across ingests (the app): the file attached
    read-only to an instance of its own. DuckDB shares one instance per file path while any
    connection to it is open, so a connection opened after an ingest swapped in a new file, while
    one to the old file was still open, read the old file. Cursors read it through `sibling_cursor`."""
    con = duckdb.connect()
    _attach(con, path, FRESH_CATALOG)
    _register_lake(con, settings)
    _reader_settings(con)
    return con


def _attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
    """The views' file read-only under `alias`, which the connection then USEs."""
    con.execute(f"ATTACH {_literal(str(path))} AS {alias} (READ_ONLY)")
    con.execute(f"USE {alias}")


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
        _attach(con, path, alias)
        try:
            yield con
        finally:
            con.execute("USE memory")
            con.execute(f"DETACH {alias}")
    finally:
        con.close()


def sibling_cursor(con: duckdb.DuckDBPyConnection, database: str | None = None) -> duckdb.DuckDBPyConnection:
    """Another cursor reading the database `con` USEs (or `database`, when the caller knows it: no
    query on `con`), for a query on another thread (the caller closes it)."""
    database = database or con.execute("SELECT current_database()").fetchone()[0]
    cursor = con.cursor()
    cursor.execute(f'USE "{database}"')
    return cursor
