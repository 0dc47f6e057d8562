"""The CLI: parses flags, calls the stages, prints the summary. No logic of its own."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from . import warehouse
from .config import Settings, load_settings
from .errors import LensError
from .lake import Lake
from .pipeline import IngestSummary, ingest
from .progress import byte_progress
from .sources.files import check_file, read_files


def _ingest_files(settings: Settings, args: argparse.Namespace) -> IngestSummary:
    paths = [Path(p) for p in args.paths]
    for path in paths:
        check_file(path)
    total = sum(p.stat().st_size for p in paths)
    with byte_progress(total, "ingest") as update:
        batches = read_files(paths, settings.batch_bytes, update)
        return ingest(settings, "file", ", ".join(str(p) for p in paths), batches, project=args.project)


def _samples(settings: Settings, args: argparse.Namespace) -> None:
    """Load the bundled sample exports, only into an empty lake (what `make run` does)."""
    if Lake(settings.spans_dir, "probe").partitions() and not args.force:
        print("lake already has data; samples not loaded")
        warehouse.build(settings)
        return
    files = sorted(p for p in settings.samples_dir.iterdir() if p.name not in {"README.md", "manifest.json", "identity.yaml"})
    args.paths, args.project = [str(p) for p in files], None
    print(_ingest_files(settings, args).line())


def _views(settings: Settings, _: argparse.Namespace) -> None:
    print(f"views rebuilt: {warehouse.build(settings)}")


def _compact(settings: Settings, _: argparse.Namespace) -> None:
    lake = Lake(settings.spans_dir, "compact")
    merged = lake.compact(min_files=2)
    warehouse.build(settings)
    print(f"compacted {merged} partition(s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lens_etl", description="Lens ETL: agent spans into the lake and views.")
    parser.add_argument("--data-dir", help="where the lake and lens.duckdb live (default ./data, env LENS_DATA_DIR)")
    parser.add_argument("--config", help="settings file (default ./lens.toml, env LENS_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest_parser = commands.add_parser("ingest", help="pull spans into the lake")
    sources = ingest_parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    files = sources.add_parser("files", help="exported files: .jsonl .json .parquet .csv (optionally .gz)")
    files.add_argument("paths", nargs="+", metavar="FILE")
    files.add_argument("--project", help="project name for spans that do not carry one")
    files.set_defaults(handler=lambda s, a: print(_ingest_files(s, a).line()))

    samples = commands.add_parser("samples", help="load the bundled sample exports if the lake is empty")
    samples.add_argument("--force", action="store_true", help="load them even if the lake has data")
    samples.set_defaults(handler=_samples)
    commands.add_parser("views", help="rebuild lens.duckdb's views from sql/").set_defaults(handler=_views)
    commands.add_parser("compact", help="merge each partition's files into one").set_defaults(handler=_compact)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.data_dir, args.config)
        args.handler(settings, args)
    except LensError as exc:
        print(f"lens: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lens: interrupted; the lake is consistent, run again to finish", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
