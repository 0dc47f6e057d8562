"""The CLI: parses flags, calls the stages, prints the summary. No logic of its own."""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn, Sequence

from . import alerts, doctor, follow, rollups, security_cli, warehouse, writer_lock
from .config import Settings, load_settings
from .errors import ConfigError, LensError
from .lake import Lake
from .pipeline import IngestSummary, ingest
from .progress import byte_progress
from .sources.files import check_file, read_files
from .sources.phoenix import Window


def _ingest_files(settings: Settings, args: argparse.Namespace) -> IngestSummary:
    paths = [Path(p) for p in args.paths]
    for path in paths:
        check_file(path)
    total = sum(p.stat().st_size for p in paths)
    with byte_progress(total, "ingest") as update:
        batches = read_files(paths, settings.batch_bytes, update)
        return ingest(settings, "file", ", ".join(str(p) for p in paths), batches, project=args.project)


def _ingest_phoenix(settings: Settings, args: argparse.Namespace) -> None:
    source = follow.PhoenixSource(args.url, tuple(args.project), args.db)
    follow.pull_phoenix(settings, source, Window(args.since, args.until), log=print)


def _ingest_arize(settings: Settings, args: argparse.Namespace) -> None:
    flags = {"space_id": args.space_id, "projects": args.project, "chunk": args.chunk}
    follow.pull_arize(settings, log=print, overrides=flags, since=args.since, until=args.until)


def _ingest_follow(settings: Settings, args: argparse.Namespace) -> None:
    if not args.follow:
        raise ConfigError("ingest: name a SOURCE (files, phoenix, all) or pass --follow")
    follow.follow(settings, args.every)


def _samples(settings: Settings, args: argparse.Namespace) -> None:
    """Load the bundled sample exports, only into an empty lake (what `make run` does)."""
    if settings.lake_url and not args.force:  # a team's lake: never fill it with samples
        print(f"lake at {settings.lake_url}; samples not loaded")
        warehouse.refresh_from_lake_url(settings)
        return
    if Lake(settings.spans_dir, "probe").partitions() and not args.force:
        print("lake already has data; samples not loaded")
        warehouse.build(settings)
        return
    files = sorted(p for p in settings.samples_dir.iterdir() if p.name not in {"README.md", "manifest.json", "identity.yaml"})
    args.paths, args.project = [str(p) for p in files], None
    print(_ingest_files(settings, args).line())


def _views(settings: Settings, _: argparse.Namespace) -> None:
    print(f"views rebuilt: {warehouse.build(settings)}")


def _rebuild(settings: Settings, _: argparse.Namespace) -> None:
    with writer_lock.exclusive(settings.spans_dir, "rebuild"):
        days = rollups.rebuild(settings)
        warehouse.build(settings, publish=True)
    print(f"rollups rebuilt for {days} day(s); views rebuilt")


def _compact(settings: Settings, _: argparse.Namespace) -> None:
    with writer_lock.exclusive(settings.spans_dir, "compact"):
        lake = Lake(settings.spans_dir, "compact")
        merged = lake.compact(min_files=2)
        warehouse.build(settings, publish=True)
    print(f"compacted {merged} partition(s)")


def _doctor(settings: Settings, args: argparse.Namespace) -> None:
    if args.fix:
        with writer_lock.exclusive(settings.spans_dir, "doctor --fix"):
            report = doctor.fix(settings)
    else:
        report = doctor.diagnose(settings)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        doctor.render(report)
    if report.problems():
        raise SystemExit(1)


class OneLineParser(argparse.ArgumentParser):
    """A bad flag is a user mistake: one line on stderr, exit code 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"lens: error: {self.prog.removeprefix('python -m lens_etl').strip() or 'usage'}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m lens_etl", description="Lens ETL: agent spans into the lake and views.")
    parser.add_argument("--data-dir", help="where the lake and lens.duckdb live (default ./data, env LENS_DATA_DIR)")
    parser.add_argument("--config", help="settings file (default ./lens.toml, env LENS_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest_parser = commands.add_parser("ingest", help="pull spans into the lake")
    ingest_parser.add_argument("--follow", action="store_true", help="poll every configured source until Ctrl-C")
    ingest_parser.add_argument("--every", type=follow.parse_every, default=5.0, metavar="5s", help="poll interval for --follow")
    ingest_parser.set_defaults(handler=_ingest_follow)
    sources = ingest_parser.add_subparsers(dest="source", required=False, metavar="SOURCE")
    files = sources.add_parser("files", help="exported files: .jsonl .json .parquet .csv (optionally .gz)")
    files.add_argument("paths", nargs="+", metavar="FILE")
    files.add_argument("--project", help="project name for spans that do not carry one")
    files.set_defaults(handler=lambda s, a: print(_ingest_files(s, a).line()))
    phoenix = sources.add_parser("phoenix", help="a Phoenix server over its REST API, or its database with --db")
    phoenix.add_argument("--url", default="http://127.0.0.1:6006", help="the server (default http://127.0.0.1:6006)")
    phoenix.add_argument("--project", action="append", required=True, help="project name (repeat for several)")
    phoenix.add_argument("--since", type=follow.parse_when, help="spans starting at or after this date (overrides the watermark)")
    phoenix.add_argument("--until", type=follow.parse_when, help="spans starting before this date")
    phoenix.add_argument("--db", help="read Phoenix's database directly: sqlite:///path/phoenix.db or postgresql://…")
    phoenix.set_defaults(handler=_ingest_phoenix)
    arize_parser = sources.add_parser("arize", help="Arize AX through the arize SDK's export (API key: env ARIZE_API_KEY)")
    arize_parser.add_argument("--space-id", help="the space (default: space_id in [sources.arize] of lens.toml)")
    arize_parser.add_argument("--project", action="append", help="project name (repeat for several; default from lens.toml)")
    arize_parser.add_argument("--since", help="from this date, UTC (default: 7 days back; done chunks are skipped)")
    arize_parser.add_argument("--until", help="before this date, UTC (default: now)")
    arize_parser.add_argument("--chunk", help="export window per call: 1d (default), 6h, …")
    arize_parser.set_defaults(handler=_ingest_arize)
    sources.add_parser("all", help="every source configured in lens.toml, once").set_defaults(
        handler=lambda s, a: follow.ingest_all(s)
    )

    samples = commands.add_parser("samples", help="load the bundled sample exports if the lake is empty")
    samples.add_argument("--force", action="store_true", help="load them even if the lake has data")
    samples.set_defaults(handler=_samples)
    commands.add_parser("views", help="rebuild lens.duckdb's views from sql/").set_defaults(handler=_views)
    commands.add_parser("compact", help="merge each partition's files into one").set_defaults(handler=_compact)
    commands.add_parser("rebuild", help="recompute every rollup from the spans, then the views").set_defaults(handler=_rebuild)
    doctor_parser = commands.add_parser("doctor", help="lake health: files, statistics, schema drift, orphans, stale rollups")
    doctor_parser.add_argument("--fix", action="store_true", help="recover, compact, drop orphans, refresh rollups, rebuild views")
    doctor_parser.add_argument("--json", action="store_true", help="the report as JSON")
    doctor_parser.set_defaults(handler=_doctor)
    alerts.add_commands(commands)
    security_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.data_dir, args.config)
        with follow.sigterm_as_ctrl_c() if args.command == "ingest" else nullcontext():
            args.handler(settings, args)
    except LensError as exc:
        print(f"lens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lens: interrupted; the lake is consistent, run again to finish", file=sys.stderr)
        return 130
    except Exception as exc:  # not a user mistake Lens knows: still one line, the traceback on request
        if os.environ.get("LENS_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        print(f"lens: error: {args.command} failed: {type(exc).__name__}: {message} "
              "(set LENS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
