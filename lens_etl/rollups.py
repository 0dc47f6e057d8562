"""Rollups: per-day Parquet aggregates beside the spans, so screens need not scan every span.

Each partition an ingest touches gets its rollups recomputed from its own spans (a day is
small), through the same `spans` view logic the warehouse uses, and swapped in atomically.
`rebuild` recomputes all of them; sums over a rollup equal the same sums over `spans`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb

from . import memory, session_totals
from .atomic import write_json_atomic
from .config import Settings
from .lake import Lake, parquet_files, partition_day, partition_dir, write_parquet_atomic
from .rollup_files import PERIOD_ROW_GROUP_ROWS, PERIODS_DIR, day_files, period_of, plain_counts
from .warehouse import SQL_DIR

# In order: a rollup may read one computed before it for the same day (daily_metrics reads hourly_metrics).
ROLLUPS = (
    "hourly_metrics", "daily_metrics", "session_days", "tool_calls", "tool_calls_daily", "session_activity",
    "session_models", "tool_sessions", "latency_histogram", "tool_latency", "request_latency", "tool_transitions",
    "tool_chains", "error_types", "filter_values", "cost_savings",
)
# Rollups that also read the previous day's spans (a tool's caller, a session's previous tool call
# may sit before midnight), or read one that does (tool_calls_daily, session_models, tool_sessions,
# tool_latency, request_latency, tool_chains); they are recomputed for the day after every day an
# ingest touches too.
LOOKBACK = ("tool_calls", "tool_calls_daily", "session_activity", "session_models", "tool_sessions",
            "latency_histogram", "tool_latency", "request_latency", "tool_transitions", "tool_chains")
# Rollups that also read the next day's spans (a failed call's retry may come after midnight);
# they are recomputed for the day before every day an ingest touches too.
LOOKAHEAD = ("cost_savings",)
# The views read each rollup from one file per ten days (days 1-10, 11-20, 21-end of a month): a
# screen opens a few files, not one per day (footers cost more than their rows), and an ingest
# rewrites ten days' files, not a month's. How a period file is sorted: by day, so row groups
# prune on event_date; requests and tool calls apart, so a request-latency query skips the
# (larger) tool-call row groups; session_days by session, read by session id and never by day.
COMPACT_ORDER = {"latency_histogram": "kind, event_date", "session_days": "session_id, event_date"}
LEGACY_DIRS = ("months",)  # one file per month, before periods
REFRESHING = "_refreshing.json"  # in lake/rollups: the days a refresh is recomputing, until it is done
# The period files' layout, part of definitions_digest: a lake laid out otherwise is rebuilt.
LAYOUT = (f"ten-day periods sorted by {sorted(COMPACT_ORDER.items())}, row groups of {PERIOD_ROW_GROUP_ROWS}, "
          "counts as int64")
# Days are refreshed by two threads (each holds up to three days of spans: memory stays bounded),
# each on a single-threaded connection: a day's queries are too small for DuckDB to split well,
# and two threads per connection only contend (30 days of 33k spans: 18 s with 2 x 2, 13 s with 2 x 1).
WORKERS = max(1, min(2, os.cpu_count() or 1))


def rollup_dir(settings: Settings, name: str) -> Path:
    return settings.lake_dir / "rollups" / name


# The bulky text columns no rollup reads: left unread (they are most of a span's bytes).
UNREAD = ("metadata", "input_preview", "output_preview")


def _load_day(con: duckdb.DuckDBPyConnection, table: str, files: list[Path]) -> None:
    """One day's span files into memory once, for all the rollups that read them."""
    unread = ", ".join(f"CAST(NULL AS VARCHAR) AS {name}" for name in UNREAD)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * REPLACE ({unread}) FROM {parquet_files(files, hive=True)}")


@cache
def _spans_view_template() -> str:
    return (SQL_DIR / "00_spans.sql").read_text(encoding="utf-8")


def _spans_view_sql(relation: str) -> str:
    return _spans_view_template().replace("{{spans}}", relation)


def _relation(name: str, day_rows: str, previous: str | None, upcoming: str | None) -> str:
    """What a rollup's `spans` reads: the day's rows, with the neighbour day it looks at."""
    if name in LOOKBACK and previous:
        return f"(SELECT * FROM {previous} UNION ALL BY NAME SELECT * FROM {day_rows})"
    if name in LOOKAHEAD and upcoming:
        return f"(SELECT * FROM {day_rows} UNION ALL BY NAME SELECT * FROM {upcoming})"
    return day_rows


def _rollups_of(day: date, touched: set[date], following: set[date], preceding: set[date]) -> tuple[str, ...]:
    """Every rollup of a touched day; of its neighbours, those that read the touched day."""
    if day in touched:
        return ROLLUPS
    return tuple(name for name in ROLLUPS
                 if (day in following and name in LOOKBACK) or (day in preceding and name in LOOKAHEAD))


@cache
def _rollup_sql(name: str) -> str:
    return (SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")


class _DayTables:
    """Days' spans loaded as temp tables, kept while a neighbour still needs them: walking days in
    order, each day is read once, not once more for each neighbour."""

    def __init__(self, con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
        self.con, self.lake = con, lake
        self.loaded: dict[date, str | None] = {}

    def get(self, day: date) -> str | None:
        """The table of this day's spans, or None when the lake has none."""
        if day not in self.loaded:
            files = self.lake.files(day)
            table = f"rows_{day:%Y%m%d}" if files else None
            if table:
                _load_day(self.con, table, files)
            self.loaded[day] = table
        return self.loaded[day]

    def keep_near(self, day: date) -> None:
        for other in [d for d in self.loaded if abs((d - day).days) > 1]:
            table = self.loaded.pop(other)
            if table:
                self.con.execute(f"DROP TABLE {table}")


def _refresh_days(settings: Settings, lake: Lake, plan: list[tuple[date, tuple[str, ...]]]) -> None:
    """These days' rollups (in day order), on a connection of this thread's own."""
    con = duckdb.connect(config={"threads": 1})
    tables = _DayTables(con, lake)
    try:
        for day, names in plan:
            tables.keep_near(day)
            memory.release_freed()  # the days dropped and the last day's tables: no memory creep over many days
            day_rows = tables.get(day)
            if day_rows is None:
                for name in names:
                    shutil.rmtree(partition_dir(rollup_dir(settings, name), day), ignore_errors=True)
                continue
            previous = tables.get(day - timedelta(days=1)) if any(n in LOOKBACK for n in names) else None
            upcoming = tables.get(day + timedelta(days=1)) if any(n in LOOKAHEAD for n in names) else None
            viewed = None
            for name in names:
                target = partition_dir(rollup_dir(settings, name), day) / "rollup.parquet"
                relation = _relation(name, day_rows, previous, upcoming)
                if relation != viewed:  # most rollups of a day read the same rows
                    con.execute(_spans_view_sql(relation))
                    viewed = relation
                table = plain_counts(con.execute(_rollup_sql(name)).to_arrow_table())
                write_parquet_atomic(table, target)
                con.register(name, table)  # for the rollups after it that read it
    finally:
        con.close()


def _refreshing_file(settings: Settings) -> Path:
    return settings.lake_dir / "rollups" / REFRESHING


def interrupted_days(settings: Settings) -> list[date]:
    """The days a refresh was recomputing when its run was killed (`refresh` finishes them)."""
    try:
        return sorted(date.fromisoformat(day) for day in json.loads(_refreshing_file(settings).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return []


def refresh(settings: Settings, days: list[date], every_session: bool = False) -> int:
    """Recompute every rollup of these days from their spans (and the LOOKBACK rollups of the
    day after each, the LOOKAHEAD ones of the day before), then the totals of the sessions these
    days hold (of `every_session`, or of every one after a run killed before them); returns how
    many days. Days are shared among WORKERS threads. The days are journaled until all is done:
    a run killed after a gone day's rollup folders went, and before its periods and sessions
    were redone, left nothing else that names that day; the next refresh does them too."""
    earlier = interrupted_days(settings)
    days = sorted({*days, *earlier})
    if days != earlier:
        write_json_atomic(_refreshing_file(settings), [str(day) for day in days])
    _refresh(settings, days, every_session)
    _refreshing_file(settings).unlink(missing_ok=True)
    return len(days)


def _refresh(settings: Settings, days: list[date], every_session: bool) -> None:
    every_session = every_session or not session_totals.is_current(settings)
    lake = Lake(settings.spans_dir, "rollup")
    touched = set(days)
    following = {day + timedelta(days=1) for day in touched} - touched
    preceding = {day - timedelta(days=1) for day in touched} - touched
    plan = [(day, _rollups_of(day, touched, following, preceding)) for day in sorted(touched | following | preceding)]
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            share = -(-len(plan) // WORKERS)  # each thread a run of consecutive days
            jobs = [pool.submit(_refresh_days, settings, lake, plan[i * share:(i + 1) * share]) for i in range(WORKERS)]
            for job in jobs:
                job.result()
            periods = sorted({period_of(day) for day, _ in plan})
            jobs = [pool.submit(session_totals.refresh, settings, days, every_session)]
            jobs += [pool.submit(_compact_period, settings, name, period) for name in ROLLUPS for period in periods]
            for job in jobs:
                job.result()
    finally:
        lake.close()


def period_file(settings: Settings, name: str, period: str) -> Path:
    return rollup_dir(settings, name) / PERIODS_DIR / f"{period}.parquet"


def _compact_period(settings: Settings, name: str, period: str) -> None:
    """A rollup's days of one period as one file, sorted by day. Day files are read in day order
    and DuckDB keeps that order, so only a rollup sorted otherwise is sorted."""
    days = [path for path in sorted(rollup_dir(settings, name).glob(f"event_date={period[:7]}-*/rollup.parquet"))
            if period_of(date.fromisoformat(path.parent.name.split("=", 1)[1])) == period]
    target = period_file(settings, name, period)
    if not days:
        target.unlink(missing_ok=True)
        return
    order = f" ORDER BY {COMPACT_ORDER[name]}" if name in COMPACT_ORDER else ""
    con = duckdb.connect(config={"threads": 1})  # periods are compacted side by side
    try:
        table = con.execute(f"SELECT * FROM {parquet_files(days, hive=True)}{order}").to_arrow_table()
    finally:
        con.close()
    write_parquet_atomic(table, target, PERIOD_ROW_GROUP_ROWS)


def definitions_digest() -> str:
    """What every rollup is computed by (the spans view and the rollup queries) and how the period
    files are laid out, as one digest."""
    texts = [LAYOUT, _spans_view_template(), *(_rollup_sql(name) for name in ROLLUPS), session_totals.query()]
    return hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()


def _definitions_file(settings: Settings) -> Path:
    return settings.lake_dir / "rollups" / "_definitions.sha256"


def definitions_current(settings: Settings) -> bool:
    """Whether every rollup file was written by the current queries and layout (so one rollup's
    files all have one schema)."""
    stamp = _definitions_file(settings)
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == definitions_digest()


def _stamp_definitions(settings: Settings) -> None:
    stamp = _definitions_file(settings)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(definitions_digest() + "\n", encoding="utf-8")


def stale_days(settings: Settings) -> list[date]:
    """Days whose spans changed after their rollups were written (or that have none):
    a killed run's partitions are caught up by the next run, whatever it ingests. After an
    upgrade that changed a rollup query (or added one), every day is stale."""
    lake = Lake(settings.spans_dir, "rollup", recover=False)
    try:
        if not definitions_current(settings):
            return lake.partitions()
        written = {name: _day_file_times(rollup_dir(settings, name)) for name in ROLLUPS}
        compacted = {name: _period_file_times(rollup_dir(settings, name)) for name in ROLLUPS}
        stale = []
        for day in lake.partitions():
            files = lake.files(day)
            if not files:  # an empty folder: no spans to roll up (`orphan_days` drops its rollups)
                continue
            newest = max(p.stat().st_mtime_ns for p in files)
            period = period_of(day)
            for name in ROLLUPS:
                target, merged = written[name].get(day), compacted[name].get(period)
                if target is None or target < newest or merged is None or merged < target:
                    stale.append(day)
                    break
        return stale
    finally:
        lake.close()


def period_days(period: str) -> list[date]:
    """The days of a ten-day period (`period_of`): 2026-11-3 is the 21st to the 30th."""
    year, month, third = (int(part) for part in period.split("-"))
    first = date(year, month, 10 * (third - 1) + 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1) if third == 3 else first + timedelta(days=9)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def orphan_days(settings: Settings) -> list[date]:
    """Days whose rollups outlived their spans: a day folder of a rollup, or a period file (the
    views read those) of a period, without a span file of that day. A retention or purge killed
    after it removed the spans and before it recomputed their rollups, or a partition deleted by
    hand, leaves them; the views would go on counting those spans. `refresh` of these days drops
    them, recompacts their periods and adds their sessions up again."""
    lake = Lake(settings.spans_dir, "rollup", recover=False)
    try:
        held = {day for day in lake.partitions() if lake.files(day)}
    finally:
        lake.close()
    periods_held = {period_of(day) for day in held}
    orphans: set[date] = set()
    for name in (*ROLLUPS, session_totals.NAME):
        folder = rollup_dir(settings, name)
        orphans.update(day for day in map(partition_day, folder.glob("event_date=*")) if day is not None and day not in held)
        for path in (folder / PERIODS_DIR).glob("*.parquet"):
            if path.stem not in periods_held:
                try:
                    orphans.update(period_days(path.stem))
                except ValueError:  # not a period file's name: not Lens's
                    continue
    return sorted(orphans)


def _day_file_times(folder: Path) -> dict[date, int]:
    """When each day's rollup file was written."""
    return {day: written for day, (_, written) in day_files(folder).items()}


def _period_file_times(folder: Path) -> dict[str, int]:
    return {path.stem: path.stat().st_mtime_ns for path in (folder / PERIODS_DIR).glob("*.parquet")}


def refresh_stale(settings: Settings) -> int:
    if not definitions_current(settings):
        return rebuild(settings)  # every day, and files laid out otherwise go
    refreshed = refresh(settings, sorted({*stale_days(settings), *orphan_days(settings)}))  # and interrupted_days
    _stamp_definitions(settings)  # every day is now computed by the current queries
    return refreshed


def rebuild(settings: Settings) -> int:
    """Every rollup from scratch, dropping those of days no longer in the lake. The period files the
    views read are replaced one at a time, and those of periods the lake no longer holds removed
    after: the app reads on while a rebuild runs (minutes over a year of spans)."""
    lake = Lake(settings.spans_dir, "rollup")
    days = lake.partitions()
    lake.close()
    for name in ROLLUPS:
        for stale in rollup_dir(settings, name).glob("event_date=*"):
            if partition_day(stale) not in days:
                shutil.rmtree(stale, ignore_errors=True)
    rebuilt = refresh(settings, days, every_session=True)
    periods = {period_of(day) for day in days}
    for name in ROLLUPS:
        folder = rollup_dir(settings, name)
        for path in (folder / PERIODS_DIR).glob("*.parquet"):
            if path.stem not in periods:
                path.unlink(missing_ok=True)
        for layout in LEGACY_DIRS:
            shutil.rmtree(folder / layout, ignore_errors=True)
    _stamp_definitions(settings)
    return rebuilt
