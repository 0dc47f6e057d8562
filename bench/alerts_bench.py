"""Alert evaluation speed: 100 rules of every type over a large synthetic lake.

    python -m bench.alerts_bench [--days 100] [--per-day 100000] [--work $TMPDIR/lens-bench]

Builds (or reuses) a synthetic lake with bench/synth.py, evaluates 100 rules with
`alerts.evaluate` as after each ingest and follow batch (each evaluation attaches the
warehouse file anew), and writes bench/results/alerts.json: the cold first evaluation, then
the median and p95 of warm ones.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import synth
from bench.run import synthetic_lake
from lens_etl import alerts, budgets, warehouse
from lens_etl.config import Settings

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_MS = 200.0


def lake(work: Path, days: int, per_day: int) -> Settings:
    """The synthetic lake (spans, rollups, views) `make bench` uses for the screens, reused when
    one of the same size is there, with a budget for 20 developers."""
    settings = synthetic_lake(work, days, per_day)
    budgets.save(settings, [budgets.Budget("developer", name, 500.0) for name in synth.FIRST_NAMES[:20]])
    return settings


def hundred_rules() -> list[alerts.Rule]:
    """A realistic mix: budgets per developer and team, rates, latency, usage, silence, ingest surges."""
    rows: list[dict] = []
    rows += [{"id": f"budget-{d}", "type": "cost_budget", "scope": "developer", "name": d} for d in synth.FIRST_NAMES[:20]]
    rows += [{"id": f"team-{t}-{w}", "type": "cost_run_rate", "scope": "team", "name": t, "threshold": 5000, "window": w}
             for t in synth.TEAMS for w in ("week", "month")]
    rows += [{"id": f"model-{m.name}", "type": "cost_budget", "scope": "model", "name": m.name, "threshold": 2000}
             for m in synth.MODELS]
    rows += [{"id": f"err-{s}-{m}", "type": "error_rate", "scope": s, "minutes": m} for s in ("total", "model", "team", "developer")
             for m in (15, 60)]
    rows += [{"id": f"spike-{s}", "type": "error_spike", "scope": s} for s in ("total", "model", "team", "service", "project")]
    rows += [{"id": f"p95-{m.name}", "type": "latency_p95", "scope": "model", "name": m.name} for m in synth.MODELS]
    rows += [{"id": "p95-all", "type": "latency_p95", "scope": "total"}]
    rows += [{"id": f"usage-{d}", "type": "usage_anomaly", "scope": "developer", "name": d} for d in synth.FIRST_NAMES[:25]]
    rows += [{"id": "usage-all", "type": "usage_anomaly", "scope": "developer"},
             {"id": "usage-cost", "type": "usage_anomaly", "scope": "developer", "metric": "cost_usd"}]
    rows += [{"id": f"silent-{s}", "type": "source_silent", "scope": s, "threshold": 30} for s in ("source", "project")]
    rows += [{"id": "silent-default", "type": "source_silent", "scope": "project", "name": "default"}]
    rows += [{"id": f"dl-{m}", "type": "dead_letter_surge", "minutes": m} for m in (60, 240)]
    rows += [{"id": f"unpriced-{m}", "type": "unpriced_surge", "minutes": m} for m in (60, 240)]
    while len(rows) < 100:
        rows.append({"id": f"extra-{len(rows)}", "type": "error_rate", "scope": "developer", "name": synth.FIRST_NAMES[len(rows) % 48]})
    return [alerts.make_rule(r) for r in rows[:100]]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.alerts_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=100)  # 10M spans, as the goal says
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "lens-bench")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    clock = time.perf_counter()
    settings = lake(args.work, args.days, args.per_day)
    built_s = time.perf_counter() - clock
    rules = hundred_rules()
    # "now" is the newest span (synth's lake ends yesterday), so every window has data to read.
    con = warehouse.connect_readonly(settings.duckdb_path)
    now = con.execute("SELECT max(start_time) FROM spans").fetchone()[0] + timedelta(minutes=1)
    spans = con.execute("SELECT count(*) FROM spans").fetchone()[0]
    con.close()
    timings, firing = [], 0
    for _ in range(args.runs + 1):
        start = time.perf_counter()
        firing = len(alerts.evaluate(settings, rules, now=now))
        timings.append((time.perf_counter() - start) * 1000)
    cold, warm = timings[0], sorted(timings[1:])
    median = statistics.median(warm)
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    result = {
        "part": "alerts", "rules": len(rules), "spans": spans, "days": args.days, "firing": firing,
        "metrics": {"evaluate_cold_ms": round(cold, 1), "evaluate_median_ms": round(median, 1), "evaluate_p95_ms": round(p95, 1)},
        "goal": f"median evaluation of {len(rules)} rules < {GOAL_MS:.0f} ms", "ok": median < GOAL_MS,
        "lake_ready_s": round(built_s, 1), "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "alerts.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(rules)} rules over {spans:,} spans: cold {cold:.0f} ms, median {median:.0f} ms, p95 {p95:.0f} ms "
          f"({firing} firing) -> {RESULTS / 'alerts.json'}")


if __name__ == "__main__":
    main()
