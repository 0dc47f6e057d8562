"""Memory bound: peak RSS of `lens_etl ingest files`, then `lens_etl rebuild`, on two exports.

    python -m bench.memory [--spans 4000000] [--ordered-spans 4000000] [--year-lake DATA_DIR] [--keep DIR]

A 4M-span export over 30 days whose every batch touches every day (the held rows, ids and traces
of all days at once: what a run remembers must go to disk, not grow), and one of 4M spans over 120
days in time order, as an export paged by time is (the days no batch touches lately are
forgotten). When the scale part's synthetic year is there (`bench.run --only scale`), a `rebuild`
of its 36.5M spans too.

Each step runs as its own subprocess; its peak RSS is the child's ru_maxrss (os.wait4), and
resource.getrusage(RUSAGE_CHILDREN) gives the largest over all of them. Goal: under 2 GB.
Results go to bench/results/memory.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from bench.synth import write_export

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "memory.json"
GOAL_MB = 2048.0
YEAR_LAKE = Path(tempfile.gettempdir()) / "lens-bench" / "lake-365x100000" / "data"  # bench.run's scale lake


@dataclass(frozen=True)
class Step:
    command: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    last_line: str


def run_step(args: list[str], data_dir: Path) -> Step:
    """One `python -m lens_etl …` child; its own peak RSS (Linux reports ru_maxrss in KiB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(data_dir)}
    clock = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen([sys.executable, "-m", "lens_etl", *args], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = [line.strip() for line in out.read().splitlines() if line.strip()]
    return Step(" ".join(["lens_etl", *args]), round(time.perf_counter() - clock, 1),
                round(usage.ru_maxrss / 1024, 1), child.returncode, lines[-1] if lines else "")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=4_000_000)
    parser.add_argument("--ordered-spans", type=int, default=4_000_000, help="0: skip the export in time order")
    parser.add_argument("--year-lake", type=Path, default=YEAR_LAKE, help="a data dir to `rebuild` too, if it holds a lake")
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temporary one, removed)")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lens-memory-"))
    try:
        exports = [("mixed", args.spans, 30.0, False)]
        if args.ordered_spans:
            exports.append(("ordered", args.ordered_spans, 120.0, True))
        steps, sizes = [], {}
        for name, spans, days, ordered in exports:
            export = work / f"{name}.jsonl"
            clock = time.perf_counter()
            sizes[name] = write_export(export, spans, days=days, ordered=ordered)
            print(f"{name} export: {spans:,} spans over {days:.0f} days, {sizes[name] / 1e9:.2f} GB"
                  f" in {time.perf_counter() - clock:.0f}s", flush=True)
            for command in (["ingest", "files", str(export)], ["rebuild"]):
                step = run_step(command, work / f"data-{name}")
                steps.append(step)
                print(f"{step.command}: peak RSS {step.peak_rss_mb:,.0f} MB, {step.seconds}s, exit {step.returncode}", flush=True)
            export.unlink()
        if (args.year_lake / "lake" / "spans").is_dir():
            step = replace(run_step(["rebuild"], args.year_lake), command=f"lens_etl rebuild (a synthetic year: {args.year_lake})")
            steps.append(step)
            print(f"{step.command}: peak RSS {step.peak_rss_mb:,.0f} MB, {step.seconds}s, exit {step.returncode}", flush=True)
        overall = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = {
            "exports": [{"name": name, "spans": spans, "days": days, "time_ordered": ordered, "bytes": sizes[name]}
                        for name, spans, days, ordered in exports],
            "goal_peak_rss_mb": GOAL_MB,
            "steps": [asdict(s) for s in steps],
            "max_children_rss_mb": round(overall, 1),
            "passed": all(s.returncode == 0 and s.peak_rss_mb < GOAL_MB for s in steps),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"peak RSS {overall:,.0f} MB (goal < {GOAL_MB:,.0f} MB): {'pass' if result['passed'] else 'FAIL'} -> {RESULT}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
