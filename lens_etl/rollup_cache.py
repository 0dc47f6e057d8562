"""Copies of the rollups in the DuckDB file's own tables, kept in step with their Parquet files.

A screen query over `read_parquet` views spends up to half its time binding them and reading
footers and pages; the same rows in DuckDB's own tables answer 1.5-4x sooner (a year of rollups:
0.9 GB of tables beside 1.6 GB of Parquet). The Parquet files stay the lake's record (`rebuild`,
other engines, object storage); the tables are a copy each warehouse build brings up to date
file by file, so an ingest that rewrote a day's rollups reads only that day's files again.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb

from .rollup_files import PERIODS_DIR

SCHEMA = "rollup_cache"
FILES = f"{SCHEMA}.files"  # the files each table was copied from, as they were when read
FILE_COLUMN = "lens_file"  # each cached row's file, so a rewritten file's rows can be replaced


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relation(name: str) -> str:
    """What the views read for a cached rollup: its rows as the files hold them."""
    return f"(SELECT * EXCLUDE ({FILE_COLUMN}) FROM {SCHEMA}.{name})"


class Source(NamedTuple):
    """A rollup's files as a build found them: what its table is copied from."""
    files: list[Path]
    hive: bool  # day files: the day is in the folder name
    state: dict[str, tuple[int, int, int]]  # each file's identity (_identity)


def scan(rollups_dir: Path, names: list[str]) -> dict[str, Source]:
    """Each rollup's files and their identities, looked at once per build (thousands over a year)."""
    sources = {}
    for name in names:
        files, hive = _sources(rollups_dir / name)
        sources[name] = Source(files, hive, {str(f): _identity(f) for f in files})
    return sources


def relations(sources: dict[str, Source]) -> dict[str, str]:
    """What the views read for each rollup that has files (the tables `sync` keeps)."""
    return {name: relation(name) for name, source in sources.items() if source.files}


def sync(con: duckdb.DuckDBPyConnection, sources: dict[str, Source], unify: bool) -> None:
    """Bring each rollup's table in step with its files (`scan`); a rollup without files has no
    table. `unify`: the files may differ in columns (written by older rollup queries), read them
    by name."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {FILES} (rollup VARCHAR, file VARCHAR, size BIGINT, mtime_ns BIGINT, "
                "inode BIGINT, file_id INTEGER)")
    for name, source in sources.items():
        if source.files:
            _sync_rollup(con, name, source, unify)
        else:
            _drop(con, name)
    cached = {row[0] for row in con.execute(f"SELECT DISTINCT rollup FROM {FILES}").fetchall()}
    for name in cached - sources.keys():  # a rollup a newer release no longer has
        _drop(con, name)


class _Reading(NamedTuple):
    unify: bool  # files may differ in columns: read them by name
    hive: bool  # day files: the day is in the folder name


def _sources(folder: Path) -> tuple[list[Path], bool]:
    """What a rollup's table is copied from: its day files where it has them (an ingest rewrites
    the few days it touched, where their period files hold ten days each), else its period files
    (a derived rollup's). Whether the files are day files."""
    days = sorted(folder.glob("event_date=*/*.parquet"))
    return (days, True) if days else (sorted((folder / PERIODS_DIR).glob("*.parquet")), False)


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{name}")
    con.execute(f"DELETE FROM {FILES} WHERE rollup = ?", [name])


def _identity(path: Path) -> tuple[int, int, int]:
    """What tells a rewritten file (written beside and renamed over: a new inode) from the one cached."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _known(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, tuple[int, int, int, int]]:
    """The files a rollup's table holds: size, time, inode when read, and their rows' file id."""
    return {row[0]: tuple(row[1:]) for row in con.execute(
        f"SELECT file, size, mtime_ns, inode, file_id FROM {FILES} WHERE rollup = ?", [name]).fetchall()}


def _changes(known: dict[str, tuple[int, ...]], state: dict[str, tuple[int, int, int]],
             files: list[Path]) -> tuple[list[Path], list[str]]:
    """The files new or rewritten since the table read them, and those it read that are gone."""
    return [f for f in files if known.get(str(f), ())[:3] != state[str(f)]], [f for f in known if f not in state]


def out_of_step(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> int:
    """How many rollup files changed (or went) since the tables were brought up to date: what the
    next build reads again. Read-only; a file without the tables counts every file."""
    return _pending(con, sources)[0]


def mostly_changed(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> bool:
    """Whether more than half of the files the tables copy changed (a `rebuild` rewrites them all):
    then a build starts from an empty file, as reading them into the copy would leave it twice its
    size (DuckDB reuses the blocks it frees, but never gives them back)."""
    changed, total = _pending(con, sources)
    return changed * 2 > total


def _pending(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> tuple[int, int]:
    """The files changed or gone since the tables read them, and all the files they copy or copied."""
    has_files = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                            "AND schema_name = ? AND table_name = 'files'", [SCHEMA]).fetchone()[0]
    changed = total = 0
    for name, source in sources.items():
        known = _known(con, name) if has_files else {}
        new, gone = _changes(known, source.state, source.files)
        changed, total = changed + len(new) + len(gone), total + len(source.files) + len(gone)
    return changed, total


def _columns(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {query}").fetchall()]


def _read(files: list[Path], reading: _Reading, with_name: bool = False) -> str:
    listed = ", ".join(_literal(str(f)) for f in files)
    hive = ", hive_partitioning = true, hive_types = {'event_date': DATE}" if reading.hive else ""
    return (f"read_parquet([{listed}], union_by_name = {str(reading.unify).lower()}, "
            f"filename = {str(with_name).lower()}{hive})")


def _sync_rollup(con: duckdb.DuckDBPyConnection, name: str, source: Source, unify: bool) -> None:
    """Re-read the files that changed since they were cached, drop the rows of files gone. A file
    whose columns differ from the table's (the rollup's query changed) reloads the whole rollup."""
    table = f"{SCHEMA}.{name}"
    files, state, reading = source.files, source.state, _Reading(unify, source.hive)
    known = _known(con, name)
    changed, gone = _changes(known, state, files)
    if not changed and not gone:
        return
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                         "AND schema_name = ? AND table_name = ?", [SCHEMA, name]).fetchone()[0]
    if exists and changed:
        cached = [c for c in _columns(con, f"SELECT * FROM {table}") if c[0] != FILE_COLUMN]
        exists = cached == _columns(con, f"SELECT * FROM {_read(changed, reading)}")
    if not exists:  # first build, or new columns: every file is read again, by name
        reading = reading._replace(unify=True)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT *, CAST(0 AS INTEGER) AS {FILE_COLUMN} "
                    f"FROM {_read(files, reading)} WHERE false")
        con.execute(f"DELETE FROM {FILES} WHERE rollup = ?", [name])
        known, changed, gone = {}, files, []
    ids = {file: entry[3] for file, entry in known.items()}
    stale = [ids[f] for f in [*map(str, changed), *gone] if f in ids]
    if stale:
        con.execute(f"DELETE FROM {table} WHERE {FILE_COLUMN} IN ({', '.join(map(str, stale))})")
        con.execute(f"DELETE FROM {FILES} WHERE rollup = ? AND file_id IN ({', '.join(map(str, stale))})", [name])
    if not changed:
        return
    next_id = max(ids.values(), default=-1) + 1
    for path in changed:
        if str(path) not in ids:
            ids[str(path)], next_id = next_id, next_id + 1
    # one statement for all of them (DuckDB reads the files in parallel), in name order, that is
    # time order: the table's row groups follow the days
    which = " ".join(f"WHEN {_literal(str(path))} THEN {ids[str(path)]}" for path in changed)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * EXCLUDE (filename), CAST(CASE filename {which} END AS INTEGER) "
                f"AS {FILE_COLUMN} FROM {_read(changed, reading, with_name=True)}")
    con.executemany(f"INSERT INTO {FILES} VALUES (?, ?, ?, ?, ?, ?)",
                    [[name, str(path), *state[str(path)], ids[str(path)]] for path in changed])
