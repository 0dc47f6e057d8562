"""Phoenix source benchmark: API-path and DB-path spans/s, and follow-mode latency.

Feeding 200k spans over OTLP would take half an hour (Phoenix stores ~100 spans/s), so the
bench sends a few real traces, then copies the rows the server itself wrote, with new ids,
straight into its SQLite file, and restarts the server over it.

    python -m bench.phoenix_bench [--spans 200000] [--quick]   # writes bench/results/phoenix.json
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from phoenix_server import PhoenixServer, claude_code_trace, send_spans  # noqa: E402

from lens_etl.config import Settings  # noqa: E402
from lens_etl.follow import PhoenixSource, pull_phoenix  # noqa: E402
from lens_etl.sources.phoenix import PhoenixClient  # noqa: E402

PROJECT = "bench"
RESULTS = Path(__file__).resolve().parent / "results" / "phoenix.json"


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def fill_database(db: Path, spans_wanted: int) -> int:
    """Copy the template traces until the project holds `spans_wanted` spans; new ids, later times."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    project_id = con.execute("SELECT id FROM projects WHERE name = ?", (PROJECT,)).fetchone()[0]
    traces = [dict(r) for r in con.execute("SELECT * FROM traces WHERE project_rowid = ?", (project_id,))]
    spans = [dict(r) for r in con.execute(
        "SELECT s.* FROM spans s JOIN traces t ON t.id = s.trace_rowid WHERE t.project_rowid = ? ORDER BY s.id", (project_id,))]
    trace_cols, span_cols = _columns(con, "traces"), _columns(con, "spans")
    next_trace = con.execute("SELECT max(id) FROM traces").fetchone()[0] + 1
    next_span = con.execute("SELECT max(id) FROM spans").fetchone()[0] + 1
    copies = max(0, (spans_wanted - len(spans)) // len(spans))

    def shifted(ts: str, seconds: int) -> str:
        from datetime import datetime, timedelta
        return (datetime.fromisoformat(ts) + timedelta(seconds=seconds)).isoformat(sep=" ")

    new_traces, new_spans = [], []
    for copy in range(1, copies + 1):
        shift = -copy * 60  # spread the copies over earlier minutes
        trace_rowid = {}
        for trace in traces:
            row = {**trace, "id": next_trace, "trace_id": f"{copy:08x}{trace['trace_id'][8:]}",
                   "start_time": shifted(trace["start_time"], shift), "end_time": shifted(trace["end_time"], shift),
                   "project_session_rowid": None}
            trace_rowid[trace["id"]] = next_trace
            next_trace += 1
            new_traces.append(tuple(row[c] for c in trace_cols))
        for span in spans:
            row = {**span, "id": next_span, "trace_rowid": trace_rowid[span["trace_rowid"]],
                   "span_id": f"{copy:06x}{span['span_id'][6:]}",
                   "parent_id": f"{copy:06x}{span['parent_id'][6:]}" if span["parent_id"] else None,
                   "start_time": shifted(span["start_time"], shift), "end_time": shifted(span["end_time"], shift)}
            next_span += 1
            new_spans.append(tuple(row[c] for c in span_cols))
    with con:
        con.executemany(f"INSERT INTO traces ({', '.join(trace_cols)}) VALUES ({', '.join('?' * len(trace_cols))})", new_traces)
        con.executemany(f"INSERT INTO spans ({', '.join(span_cols)}) VALUES ({', '.join('?' * len(span_cols))})", new_spans)
    total = con.execute("SELECT count(*) FROM spans s JOIN traces t ON t.id = s.trace_rowid WHERE t.project_rowid = ?",
                        (project_id,)).fetchone()[0]
    con.close()
    return int(total)


def measure_pull(settings: Settings, source: PhoenixSource) -> dict[str, float]:
    started = time.perf_counter()
    [summary] = pull_phoenix(settings, source)
    seconds = time.perf_counter() - started
    return {"spans": summary.read, "seconds": round(seconds, 2), "spans_per_s": round(summary.read / seconds)}


def server_pace(url: str) -> dict[str, float]:
    """How fast the server alone hands out the project's spans: every page Lens would ask for (same
    page size and order), fetched and parsed, nothing else done with them. The API path's ceiling."""
    started = time.perf_counter()
    with PhoenixClient(url) as client:
        spans = sum(len(page) for page in client.spans_pages(PROJECT, {}))
    seconds = time.perf_counter() - started
    return {"spans": spans, "seconds": round(seconds, 2), "spans_per_s": round(spans / seconds)}


def follow_latency(server: PhoenixServer, data_dir: Path, spans: int = 100) -> dict[str, float]:
    """`ingest --follow --every 1s` in its own process; one span sent at a time; time until queryable."""
    config = data_dir / "lens.toml"
    config.write_text(f'[lens]\nproject = "default"\n\n[sources.phoenix]\nurl = "{server.url}"\nprojects = ["{PROJECT}"]\n')
    follower = subprocess.Popen(
        [sys.executable, "-m", "lens_etl", "--config", str(config), "--data-dir", str(data_dir), "ingest", "--follow", "--every", "1s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    try:
        time.sleep(3)  # its first poll finds nothing new
        base = time.time_ns()
        for index in range(spans):
            span = claude_code_trace(900_000 + index, base + index * 10**6, "sess-follow")[0]
            send_spans(server.url, PROJECT, [span])
            sent[span.span_id] = time.monotonic()
            _look(data_dir, sent, seen)
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while len(seen) < len(sent) and time.monotonic() < deadline:
            _look(data_dir, sent, seen)
            time.sleep(0.05)
    finally:
        follower.terminate()
        follower.wait(timeout=30)
    waits = sorted(seen[s] - sent[s] for s in seen)
    return {"spans": spans, "seen": len(seen), "p50_s": round(statistics.median(waits), 2),
            "p95_s": round(waits[int(0.95 * (len(waits) - 1))], 2), "max_s": round(waits[-1], 2)}


def _look(data_dir: Path, sent: dict[str, float], seen: dict[str, float]) -> None:
    missing = [s for s in sent if s not in seen]
    if not missing:
        return
    try:
        con = duckdb.connect(str(data_dir / "lens.duckdb"), read_only=True)
        found = con.execute("SELECT span_id FROM spans WHERE list_contains(?, span_id)", [missing]).fetchall()
        con.close()
    except duckdb.Error:
        return  # mid-swap: look again next time
    now = time.monotonic()
    for (span_id,) in found:
        seen.setdefault(span_id, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20k spans")
    args = parser.parse_args()
    wanted = 20_000 if args.quick else args.spans
    with tempfile.TemporaryDirectory(prefix="lens-phoenix-bench-") as tmp:
        root = Path(tmp)
        server = PhoenixServer(root / "phoenix").start()
        try:
            template = [s for i in range(30) for s in claude_code_trace(i, time.time_ns() - 3600 * 10**9 + i * 10**10, f"sess-{i // 5}")]
            send_spans(server.url, PROJECT, template)
            server.wait_for_spans(PROJECT, len(template))
            server.stop()
            filled = fill_database(server.db_path, wanted)
            server.start()
            settings = Settings(data_dir=root / "api", env={})
            pace = server_pace(server.url)
            api = measure_pull(settings, PhoenixSource(server.url, (PROJECT,)))
            db = measure_pull(Settings(data_dir=root / "db", env={}),
                              PhoenixSource("", (PROJECT,), f"sqlite:///{server.db_path}"))
            latency = follow_latency(server, root / "api")
        finally:
            server.stop()
    result = {"spans_in_phoenix": filled, "server_alone": pace, "api_path": api, "db_path": db, "follow_every_1s": latency}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
