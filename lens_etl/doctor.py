"""Lake health: what is in the lake, what drifted, what a killed run left behind, and the fix.

`diagnose` only reads (Parquet footers, file names, mtimes). `fix` finishes interrupted work,
rewrites partitions that are fragmented, drifted or unsorted, drops orphans, refreshes stale
rollups and rebuilds the views (with the rollup copies in `lens.duckdb`). Run `--fix` while no
ingest is running: a live ingest's `*.tmp` files look exactly like a dead one's.
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import object_store, rollups, session_totals, warehouse
from .config import Settings
from .lake import FILE_SCHEMA, JOURNAL, Lake, looks_like_parquet, partition_day, partition_dir
from .rollup_files import PERIODS_DIR, period_of
from .schema import PARTITION_COLUMN

STATS_COLUMNS = ("start_time", "developer_id", "session_id")
"""Columns whose row-group min/max let DuckDB skip row groups on the screens' filters."""


@dataclass(frozen=True)
class FileHealth:
    name: str
    bytes: int
    rows: int
    row_groups: int
    stats: bool  # every row group has min/max on STATS_COLUMNS
    sorted: bool  # row groups in start_time order, ranges not overlapping
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # "column: found -> expected"

    @property
    def drifted(self) -> bool:
        return bool(self.missing or self.extra or self.types)


@dataclass(frozen=True)
class PartitionHealth:
    day: date
    files: list[FileHealth]

    @property
    def needs_rewrite(self) -> bool:
        return any(f.drifted or not f.stats or not f.sorted for f in self.files)


@dataclass(frozen=True)
class Report:
    partitions: list[PartitionHealth]
    compact_min_files: int
    tmp_files: list[str]
    journals: list[str]
    orphan_rollups: list[str]  # rollup partitions of days with no spans
    stale_days: list[date]  # span partitions whose rollups are missing or older than the spans
    stale_session_totals: bool  # the session totals were not added up after the last day rollups
    dead_letter_files: int
    run_files: int
    lake_url: str | None = None
    to_publish: int = 0  # files changed since the last publish to the lake URL
    to_unpublish: int = 0  # published objects whose files are gone
    copies_out_of_step: int = 0  # rollup files changed since lens.duckdb's copies of them were made
    leftover_builds: list[str] = field(default_factory=list)  # what killed builds of lens.duckdb left
    corrupt_files: list[str] = field(default_factory=list)  # span files that are not Parquet: every read of their day fails
    bad_partitions: list[str] = field(default_factory=list)  # event_date=… folders whose name is not a day: the views read them
    empty_partitions: list[str] = field(default_factory=list)  # day folders without a span file
    views_current: bool = True  # lens.duckdb's views are what sql/ renders over this data folder
    quarantined: list[str] = field(default_factory=list)  # where `fix` moved them

    @property
    def fragmented(self) -> list[date]:
        return [p.day for p in self.partitions if len(p.files) >= self.compact_min_files]

    def problems(self) -> list[str]:
        """One line per thing `--fix` would change; empty when the lake is healthy."""
        found = [f"corrupt span file {name}: not readable Parquet (--fix moves it to quarantine/)" for name in self.corrupt_files]
        found += [f"partition folder {name}: not named event_date=YYYY-MM-DD, yet the spans view reads its files "
                  "(--fix moves it to quarantine/)" for name in self.bad_partitions]
        found += [f"empty partition folder {name}" for name in self.empty_partitions]
        found += [f"leftover temp file {name}" for name in self.tmp_files]
        found += [f"unfinished compaction journal {name}" for name in self.journals]
        found += [f"{day}: {n} files (compacted at {self.compact_min_files})" for day, n in
                  ((p.day, len(p.files)) for p in self.partitions) if day in self.fragmented]
        for part in self.partitions:
            for f in part.files:
                if f.missing:
                    found.append(f"{part.day}/{f.name}: missing columns {', '.join(f.missing)}")
                if f.extra:
                    found.append(f"{part.day}/{f.name}: extra columns {', '.join(f.extra)}")
                if f.types:
                    found.append(f"{part.day}/{f.name}: type differences {'; '.join(f.types)}")
                if not f.stats:
                    found.append(f"{part.day}/{f.name}: no min/max statistics on {', '.join(STATS_COLUMNS)}")
                if not f.sorted:
                    found.append(f"{part.day}/{f.name}: row groups not sorted by start_time")
        found += [f"leftover build file {name}" for name in self.leftover_builds]
        found += [f"rollup without spans {name}" for name in self.orphan_rollups]
        found += [f"{day}: rollups missing or stale" for day in self.stale_days]
        if self.stale_session_totals:
            found.append("session totals older than the day rollups they add up")
        if not self.views_current:
            found.append("lens.duckdb: its views are not what sql/ gives over this data folder "
                         "(built for another folder, or before sql/ changed)")
        if self.copies_out_of_step:
            found.append(f"lens.duckdb: {self.copies_out_of_step} rollup file(s) changed since the views' copies were made")
        if self.to_publish or self.to_unpublish:
            found.append(f"lake URL {self.lake_url}: {self.to_publish} file(s) to publish, "
                         f"{self.to_unpublish} object(s) to remove")
        return found

    def to_json(self) -> dict[str, object]:
        body = asdict(self)
        body["problems"] = self.problems()
        return body


def inspect_file(path: Path) -> FileHealth:
    """Footer facts of one span file, against the canonical file schema."""
    parquet = pq.ParquetFile(path)
    meta = parquet.metadata
    schema = parquet.schema_arrow
    expected = {f.name: f.type for f in FILE_SCHEMA}
    found = {f.name: f.type for f in schema}
    columns = [name for name in STATS_COLUMNS if name in found]
    stats = len(columns) == len(STATS_COLUMNS)
    ranges = []
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        by_name = {group.column(i).path_in_schema: group.column(i).statistics for i in range(group.num_columns)}
        for name in columns:
            statistics = by_name.get(name)
            if group.num_rows and (statistics is None or not statistics.has_min_max):
                stats = False
        start = by_name.get("start_time")
        if start is not None and start.has_min_max:
            ranges.append((start.min, start.max))
    ordered = all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))
    return FileHealth(
        name=path.name,
        bytes=path.stat().st_size,
        rows=meta.num_rows,
        row_groups=meta.num_row_groups,
        stats=stats,
        sorted=ordered,
        missing=[name for name in expected if name not in found],
        extra=[name for name in found if name not in expected],
        types=[f"{name}: {found[name]} -> {kind}" for name, kind in expected.items()
               if name in found and found[name] != kind],
    )


def _span_days(spans_dir: Path) -> dict[date, Path]:
    """The day folders, by day: only those named as Lens names them (`_bad_partitions` has the rest;
    event_date=20261101 is a day to Python, and must not hide event_date=2026-11-01)."""
    bad = set(_bad_partitions(spans_dir))
    folders = {partition_day(p): p for p in spans_dir.glob(f"{PARTITION_COLUMN}=*") if p.is_dir() and p not in bad}
    return {day: folder for day, folder in sorted(folders.items(), key=lambda kv: str(kv[0])) if day is not None}


def _bad_partitions(spans_dir: Path) -> list[Path]:
    """Folders the spans view's glob reads (event_date=*) that are no day of the lake: a copy
    (event_date=2026-11-01.bak), a typo. The view counts their spans again or fails to read
    their date; ingest never sees them, so it cannot tell their spans are already there."""
    return sorted(p for p in spans_dir.glob(f"{PARTITION_COLUMN}=*")
                  if p.is_dir() and ((day := partition_day(p)) is None or p.name != partition_dir(spans_dir, day).name))


def _relative(settings: Settings, path: Path) -> str:
    return str(path.relative_to(settings.data_dir))


def _readable(path: Path) -> FileHealth | None:
    """The file's health, or None when it is not Parquet at all (garbage, cut short)."""
    if not looks_like_parquet(path):
        return None
    try:
        return inspect_file(path)
    except (pa.ArrowException, OSError):
        return None


def _inspect_partitions(settings: Settings, days: dict[date, Path]) -> tuple[list[PartitionHealth], list[str]]:
    """Each day's readable files, and the files that are not (relative to the data dir)."""
    partitions, corrupt = [], []
    for day, folder in days.items():
        files = []
        for path in sorted(folder.glob("*.parquet")):
            health = _readable(path)
            if health is None:
                corrupt.append(_relative(settings, path))
            else:
                files.append(health)
        partitions.append(PartitionHealth(day, files))
    return partitions, corrupt


def diagnose(settings: Settings) -> Report:
    """Read-only: look at every span file's footer and every folder the lake keeps."""
    days = _span_days(settings.spans_dir)
    partitions, corrupt = _inspect_partitions(settings, days)
    held = {day for day, folder in days.items() if any(folder.glob("*.parquet"))}  # days with spans
    tmp_files = [_relative(settings, p) for folder in (settings.lake_dir, settings.deadletter_dir, settings.runs_dir)
                 for p in sorted(folder.rglob("*.tmp"))]
    journals = [_relative(settings, p) for p in sorted(settings.spans_dir.glob(f"{PARTITION_COLUMN}=*/{JOURNAL}"))]
    orphans = [_relative(settings, folder) for name in (*rollups.ROLLUPS, session_totals.NAME)
               for folder in sorted(rollups.rollup_dir(settings, name).glob(f"{PARTITION_COLUMN}=*"))
               if partition_day(folder) not in held]
    orphans += [_relative(settings, path) for name in (*rollups.ROLLUPS, session_totals.NAME)
                for path in sorted((rollups.rollup_dir(settings, name) / PERIODS_DIR).glob("*.parquet"))
                if path.stem not in {period_of(day) for day in held}]
    to_publish, to_unpublish = object_store.unpublished(settings)
    return Report(
        partitions=partitions,
        compact_min_files=settings.compact_min_files,
        tmp_files=tmp_files,
        journals=journals,
        orphan_rollups=orphans,
        stale_days=sorted({*(rollups.stale_days(settings) if days else []), *rollups.interrupted_days(settings)}),
        stale_session_totals=not session_totals.is_current(settings),
        dead_letter_files=len(list(settings.deadletter_dir.glob("*.parquet"))),
        run_files=len(list(settings.runs_dir.glob("*.parquet"))),
        lake_url=settings.lake_url,
        to_publish=to_publish,
        to_unpublish=to_unpublish,
        copies_out_of_step=warehouse.copies_out_of_step(settings),
        leftover_builds=[_relative(settings, p) for p in warehouse.leftover_builds(settings.duckdb_path)],
        corrupt_files=corrupt,
        bad_partitions=[_relative(settings, p) for p in _bad_partitions(settings.spans_dir)],
        empty_partitions=[_relative(settings, folder) for day, folder in days.items() if not any(folder.glob("*"))],
        views_current=bool(corrupt) or warehouse.views_current(settings),  # rendering reads every span file's schema
    )


def fix(settings: Settings) -> Report:
    """Repair what `diagnose` finds, in dependency order; returns the report after the fix."""
    before = diagnose(settings)
    moved = [_relative(settings, quarantine(settings, name)) for name in [*before.corrupt_files, *before.bad_partitions]]
    for name in before.empty_partitions:
        try:
            (settings.data_dir / name).rmdir()
        except OSError:  # something was put there meanwhile
            pass
    lake = Lake(settings.spans_dir, "doctor")  # its constructor runs recover(): journals, span .tmp files
    try:
        # many files, or drifted ones among others: merged and conformed (their rollups recomputed below)
        lake.compact(min_files=2, keep_time=False)
        lake.compact(min_files=1, days=[p.day for p in before.partitions if p.needs_rewrite and len(p.files) == 1],
                     keep_time=False)
    finally:
        lake.close()
    for name in before.tmp_files:
        (settings.data_dir / name).unlink(missing_ok=True)
    rollups.refresh_stale(settings)  # also drops the orphans, recompacting their periods and sessions
    warehouse.build(settings, publish=True)  # also brings the rollup copies up to date, drops leftover builds
    return replace(diagnose(settings), quarantined=moved)


def quarantine(settings: Settings, name: str) -> Path:
    """Move a file the lake cannot read out of it, to the same place under `quarantine/`: out of
    every reader's way, kept for whoever wants to see what it was."""
    source = settings.data_dir / name
    target = settings.quarantine_dir / name
    if target.exists():
        target = target.with_name(f"{target.name}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)
    if source.parent.name.startswith(f"{PARTITION_COLUMN}=") and not any(source.parent.iterdir()):
        source.parent.rmdir()  # a day that held only this file is no day at all
    return target


def render(report: Report) -> None:
    """The report as tables on the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="span partitions", title_justify="left")
    for column in ("day", "files", "MB", "rows", "row groups", "stats", "sorted", "schema"):
        table.add_column(column, justify="right" if column in {"files", "MB", "rows", "row groups"} else "left")
    for part in report.partitions:
        files = part.files
        drift = sum(f.drifted for f in files)
        table.add_row(
            str(part.day), str(len(files)), f"{sum(f.bytes for f in files) / 1e6:.2f}",
            f"{sum(f.rows for f in files):,}", str(sum(f.row_groups for f in files)),
            "ok" if all(f.stats for f in files) else "[red]missing[/red]",
            "ok" if all(f.sorted for f in files) else "[red]no[/red]",
            "ok" if not drift else f"[red]{drift} drifted[/red]",
        )
    console.print(table)
    console.print(f"dead-letter files: {report.dead_letter_files:,} · run files: {report.run_files:,}")
    if report.lake_url:
        console.print(f"lake URL {report.lake_url}: {report.to_publish:,} file(s) to publish, "
                      f"{report.to_unpublish:,} object(s) to remove", markup=False, highlight=False)
    for name in report.quarantined:
        console.print(f"moved to quarantine: {name}", markup=False, highlight=False)
    problems = report.problems()
    if not problems:
        console.print("[green]lake healthy[/green]")
        return
    console.print(f"[red]{len(problems)} problem(s)[/red] (python -m lens_etl doctor --fix repairs them):")
    for line in problems:
        console.print(f"  - {line}", markup=False, highlight=False)
