"""Alerts: injected anomalies fire, clean lakes stay quiet; webhooks against a real HTTP server;
the rules editor in AppTest.

A 22-day lake of canonical spans (Lake.write, rollups, views) is copied per scenario; each seed
draws a clean and an anomalous evaluation day on top: the anomalous one gets a cost spike, an
error burst, a latency shift, a usage burst, a silent project and a dead-letter surge.
"""
from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pytest

from lens_etl import alerts, rollups, warehouse
from lens_etl.__main__ import main
from lens_etl.config import Settings
from lens_etl.lake import Lake, write_parquet_atomic
from lens_etl.schema import INGEST_RUN_SCHEMA, SPAN_SCHEMA

NOW = datetime(2026, 11, 20, 10, 40)
DAY0 = NOW.replace(hour=0, minute=0)
HISTORY_DAYS = 22
SEEDS = range(8)
DEVELOPERS = ("dev0", "dev1", "dev2", "dev3", "dev4")
TEAMS = {"dev0": "red", "dev1": "red", "dev2": "blue", "dev3": "blue", "dev4": "green"}
MODELS = ("model-a", "model-b", "model-c")
SILENT_PROJECT = "ci-bot"

RULES = [
    {"id": "spend", "type": "cost_budget", "scope": "developer", "threshold": 5.0, "window": "day"},
    {"id": "errors-spike", "type": "error_spike", "scope": "model", "minutes": 30, "baseline_days": 1, "threshold": 3.0,
     "min_count": 10},
    {"id": "errors", "type": "error_rate", "scope": "total", "minutes": 30, "threshold": 0.3, "min_count": 20},
    {"id": "latency", "type": "latency_p95", "scope": "model", "minutes": 30, "baseline_days": 1, "threshold": 1.8,
     "min_count": 3},
    {"id": "usage", "type": "usage_anomaly", "scope": "developer", "threshold": 4.0, "baseline_days": 21},
    {"id": "silence", "type": "source_silent", "scope": "project", "threshold": 45, "baseline_days": 2},
    {"id": "dead-letters", "type": "dead_letter_surge", "scope": "total", "minutes": 60, "threshold": 3.0, "min_count": 10},
    {"id": "unpriced", "type": "unpriced_surge", "scope": "total", "minutes": 60, "threshold": 3.0, "min_count": 10},
]


# --- synthetic lakes ---------------------------------------------------------------------------

@dataclass
class Spans:
    """Canonical span columns being collected as numpy arrays."""

    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def add(self, start: np.ndarray, developer: np.ndarray, model: np.ndarray, latency: np.ndarray, cost: np.ndarray,
            error: np.ndarray, request: bool = True, project: str = "default", kind: str = "LLM") -> None:
        self.parts.append({"start": start, "developer": developer, "model": model, "latency": latency, "cost": cost,
                           "error": error, "request": np.full(len(start), request),
                           "project": np.full(len(start), project, dtype=object), "kind": np.full(len(start), kind, dtype=object)})

    def table(self, prefix: str) -> pa.Table:
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        n = len(cols["start"])
        start = cols["start"].astype("datetime64[us]")
        tokens = np.where(cols["request"], 1000, None)
        developer = cols["developer"].astype(object)
        has_dev = developer != ""
        data = {
            "span_id": [f"{prefix}-{i}" for i in range(n)], "trace_id": [f"{prefix}-t{i}" for i in range(n)],
            "name": np.where(cols["kind"] == "LLM", "litellm_request", "Claude_Code_Tool_Bash"),
            "span_kind": cols["kind"], "source": np.full(n, "file"), "project": cols["project"],
            "service_name": np.full(n, "litellm"), "session_id": [f"{prefix}-s{i // 20}" for i in range(n)],
            "developer_id": np.where(has_dev, developer, None),
            "team": [TEAMS.get(d) for d in developer],
            "start_time": start, "end_time": start + (cols["latency"] * 1000).astype("timedelta64[us]"),
            "latency_ms": cols["latency"], "status": np.where(cols["error"], "ERROR", "OK"),
            "model": np.where(cols["kind"] == "LLM", cols["model"], None),
            "tokens_in": tokens, "tokens_out": tokens, "cost_usd": np.where(cols["request"], cols["cost"], None),
            "price_status": np.where(cols["request"], "computed", "no_usage"),
            "event_date": start.astype("datetime64[D]"), "ingested_at": np.full(n, np.datetime64(NOW, "us")),
            "run_id": np.full(n, "test"),
        }
        arrays = [pa.array(data[f.name], f.type, from_pandas=True) if f.name in data else pa.nulls(n, f.type) for f in SPAN_SCHEMA]
        return pa.Table.from_arrays(arrays, schema=SPAN_SCHEMA)


def normal_traffic(rng: np.random.Generator, spans: Spans, start: datetime, hours: int, rates: np.ndarray,
                   silent_from: datetime | None = None) -> None:
    """Each developer's requests (Poisson per hour), plus a ci-bot project's tool span every 5 minutes."""
    counts = rng.poisson(rates, size=(hours, len(DEVELOPERS)))
    hour_of = np.repeat(np.arange(hours), counts.sum(axis=1))
    dev_of = np.concatenate([np.repeat(np.arange(len(DEVELOPERS)), row) for row in counts])
    n = len(hour_of)
    base = np.datetime64(start, "ms")
    times = base + (hour_of * 3_600_000 + rng.integers(0, 3_600_000, n)).astype("timedelta64[ms]")
    keep = times < np.datetime64(NOW, "ms")
    model = rng.integers(0, len(MODELS), n)
    latency = 3000 * np.exp(rng.normal(0, 0.3, n)) * (1 + model * 0.3)
    spans.add(times[keep], np.array(DEVELOPERS)[dev_of][keep], np.array(MODELS)[model][keep], latency[keep],
              rng.uniform(0.005, 0.02, n)[keep], (rng.random(n) < 0.03)[keep])
    ticks = base + np.arange(0, hours * 60, 5).astype("timedelta64[m]")
    ticks = ticks[(ticks < np.datetime64(silent_from or NOW, "ms"))]
    spans.add(ticks, np.full(len(ticks), "", dtype=object), np.full(len(ticks), None), np.full(len(ticks), 40.0),
              np.zeros(len(ticks)), np.zeros(len(ticks), bool), request=False, project=SILENT_PROJECT, kind="TOOL")


def ingest_runs(rng: np.random.Generator, last_dead_share: float | None) -> pa.Table:
    """A run every hour for 7 days with ~0.2% dead letters; the last one ten minutes ago."""
    starts = [NOW - timedelta(minutes=10) - timedelta(hours=h) for h in range(7 * 24)]
    read = rng.integers(1000, 3000, len(starts))
    dead = rng.binomial(read, 0.002)
    if last_dead_share is not None:
        dead[0] = int(read[0] * last_dead_share)
    rows = [{"run_id": f"run-{i}", "source": "file", "target": "x", "started_at": s, "finished_at": s, "duration_s": 1.0,
             "read": int(r), "written": int(r - d), "duplicates": 0, "dead_letters": int(d), "unpriced": 0, "blackouts": 0,
             "redactions": 0, "status": "ok"} for i, (s, r, d) in enumerate(zip(starts, read, dead))]
    return pa.Table.from_pylist(rows, schema=INGEST_RUN_SCHEMA)


def write_lake(settings: Settings, table: pa.Table) -> None:
    lake = Lake(settings.spans_dir, "test")
    try:
        lake.write(table)
    finally:
        lake.close()
    rollups.refresh_stale(settings)
    warehouse.build(settings)


@dataclass
class Scenario:
    seed: int
    anomalous: bool
    settings: Settings
    expected: set[tuple[str, str]]


RATES = np.array([4.0, 5.0, 6.0, 7.0, 8.0])  # requests per hour of each developer


def build_history(root: Path) -> Settings:
    """22 days of normal traffic, shared by every scenario (only the evaluation day differs)."""
    history = Settings(data_dir=root / "history")
    past = Spans()
    normal_traffic(np.random.default_rng(2026), past, DAY0 - timedelta(days=HISTORY_DAYS), HISTORY_DAYS * 24, RATES)
    write_lake(history, past.table("h"))
    return history


def build_scenarios(history: Settings, seed: int) -> list[Scenario]:
    """A clean and an anomalous evaluation day over the shared history, drawn from the seed."""
    scenarios = []
    for anomalous in (False, True):
        settings = Settings(data_dir=history.data_dir.parent / f"seed{seed}-{'anomalous' if anomalous else 'clean'}")
        shutil.copytree(history.data_dir, settings.data_dir)
        day_rng = np.random.default_rng([seed, int(anomalous)])
        today = Spans()
        expected: set[tuple[str, str]] = set()
        silent_from = NOW - timedelta(minutes=int(day_rng.integers(60, 180))) if anomalous else None
        normal_traffic(day_rng, today, DAY0, 11, RATES, silent_from)
        if anomalous:
            expected |= inject(day_rng, today)
            expected |= {("silence", SILENT_PROJECT), ("dead-letters", "all")}
        write_parquet_atomic(ingest_runs(day_rng, day_rng.uniform(0.05, 0.2) if anomalous else None),
                             settings.runs_dir / "runs.parquet")
        write_lake(settings, today.table(f"d{seed}{int(anomalous)}"))
        scenarios.append(Scenario(seed, anomalous, settings, expected))
    return scenarios


def inject(rng: np.random.Generator, today: Spans) -> set[tuple[str, str]]:
    """A cost spike, an error burst, a latency shift and a usage burst; returns the expected firings."""
    spender, heavy = rng.choice(len(DEVELOPERS), 2, replace=False)
    burst_model, slow_model, spike_model = rng.permutation(len(MODELS))
    recent = np.datetime64(NOW - timedelta(minutes=30), "ms")

    def times(n: int, start: np.datetime64 = recent, span_ms: int = 30 * 60_000) -> np.ndarray:
        return start + rng.integers(0, span_ms, n).astype("timedelta64[ms]")

    def same(value: object, n: int) -> np.ndarray:
        return np.full(n, value, dtype=object)

    n = 3  # cost spike: three expensive calls
    today.add(times(n), same(DEVELOPERS[spender], n), same(MODELS[spike_model], n), np.full(n, 3000.0),
              rng.uniform(3, 10, n), np.zeros(n, bool))
    n = int(rng.integers(20, 40))  # error burst: failed calls without usage on one model
    today.add(times(n), same(DEVELOPERS[spender], n), same(MODELS[burst_model], n), np.full(n, 900.0), np.zeros(n),
              np.ones(n, bool), request=False)
    for part in today.parts[:1]:  # latency shift: the slow model's recent requests, plus a few more
        slow = (part["model"] == MODELS[slow_model]) & (part["start"] >= recent)
        part["latency"] = np.where(slow, part["latency"] * rng.uniform(3, 5), part["latency"])
    n = 6
    today.add(times(n), same(DEVELOPERS[heavy], n), same(MODELS[slow_model], n), 3000 * rng.uniform(4, 6, n),
              np.full(n, 0.01), np.zeros(n, bool))
    n = int(rng.integers(25, 40))  # usage burst in the last complete hour
    slot = np.datetime64(NOW.replace(minute=0) - timedelta(hours=1), "ms")
    today.add(times(n, slot, 3_600_000), same(DEVELOPERS[heavy], n), same(MODELS[spike_model], n), np.full(n, 3000.0),
              np.full(n, 0.001), np.zeros(n, bool))
    return {("spend", DEVELOPERS[spender]), ("errors-spike", MODELS[burst_model]), ("errors", "all"),
            ("latency", MODELS[slow_model]), ("usage", DEVELOPERS[heavy])}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> list[Scenario]:
    history = build_history(tmp_path_factory.mktemp("alerts"))
    return [s for seed in SEEDS for s in build_scenarios(history, seed)]


def test_injected_anomalies_fire_and_clean_lakes_stay_quiet(scenarios: list[Scenario]) -> None:
    rules = [alerts.make_rule(r) for r in RULES]
    tp = fp = fn = 0
    misses = []
    for scenario in scenarios:
        fired = {(f.rule_id, f.subject) for f in alerts.evaluate(scenario.settings, rules, now=NOW)}
        tp += len(fired & scenario.expected)
        fp += len(fired - scenario.expected)
        fn += len(scenario.expected - fired)
        if fired != scenario.expected:
            misses.append((scenario.seed, scenario.anomalous, sorted(fired ^ scenario.expected)))
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    injected = sum(len(s.expected) for s in scenarios)
    print(f"\nalerts: {len(scenarios)} lakes, {injected} injected anomalies: precision {precision:.3f}, recall {recall:.3f}")
    assert injected >= 50
    assert (precision, recall) == (1.0, 1.0), misses


def test_each_evaluation_reads_the_views_an_ingest_swapped_in(scenarios: list[Scenario], tmp_path: Path) -> None:
    """Evaluations in one process share a DuckDB instance and attach the file anew each time: a
    warehouse swapped in between two of them (as every ingest does) is what the second one reads,
    and nothing stays attached after."""
    clean, anomalous = next(s for s in scenarios if not s.anomalous), next(s for s in scenarios if s.anomalous)
    rules = [alerts.make_rule(r) for r in RULES]
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    shutil.copy(clean.settings.duckdb_path, settings.duckdb_path)
    assert alerts.evaluate(settings, rules, now=NOW) == []
    shutil.copy(anomalous.settings.duckdb_path, tmp_path / "swap.duckdb")
    os.replace(tmp_path / "swap.duckdb", settings.duckdb_path)
    assert {(f.rule_id, f.subject) for f in alerts.evaluate(settings, rules, now=NOW)} == anomalous.expected
    with warehouse.attached_readonly(settings.duckdb_path) as con:
        attached = con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchone()[0]
    assert attached == 2  # the instance's own and this one: every evaluation detached its file


def test_error_rate_baseline_from_the_hourly_rollup_equals_the_spans(scenarios: list[Scenario]) -> None:
    """A total rule reads its baseline's whole hours from hourly_metrics; a source rule (the rollup
    has no source) reads only spans. On hour-aligned windows their numbers must agree."""
    rules = [alerts.make_rule({"id": scope, "type": "error_spike", "scope": scope, "name": name, "minutes": 40,
                               "threshold": 1e-9, "min_count": 0}) for scope, name in (("total", ""), ("source", "file"))]
    params = alerts.query_params(scenarios[1].settings, "error_rate", rules, NOW)
    assert params["hour_starts"][0] < params["hour_ends"][0] and params["hour_starts"][1] == params["hour_ends"][1]
    by_id = {f.rule_id: f for f in alerts.evaluate(scenarios[1].settings, rules, now=NOW)}
    assert by_id["total"].count > 0 and by_id["total"].baseline > 0
    assert (by_id["total"].value, by_id["total"].count) == (by_id["source"].value, by_id["source"].count)
    assert by_id["total"].baseline == pytest.approx(by_id["source"].baseline)


def test_silent_minutes_from_the_rollup_equal_the_newest_span(scenarios: list[Scenario]) -> None:
    """source_silent takes each day's newest span from filter_values and only $now's own day from the
    spans: at any `now` (with later spans that day, and a look-back starting mid-day) its minutes
    equal the newest span before `now` found over the raw spans."""
    settings = scenarios[1].settings
    rules = [alerts.make_rule({"id": scope, "type": "source_silent", "scope": scope, "threshold": 1e-9, "baseline_days": 2})
             for scope in ("source", "project")]
    con = warehouse.connect_readonly(settings.duckdb_path)
    try:
        for now in (NOW, NOW - timedelta(hours=5, minutes=7), DAY0 - timedelta(hours=3, seconds=30), DAY0 - timedelta(days=4, minutes=1)):
            raw = con.execute("""
                SELECT scope, subject, epoch(CAST($now AS TIMESTAMP) - max(start_time)) / 60
                FROM spans, LATERAL (VALUES ('source', source), ('project', project)) AS d(scope, subject)
                WHERE start_time >= CAST($now AS TIMESTAMP) - INTERVAL 2 DAY AND start_time <= CAST($now AS TIMESTAMP)
                GROUP BY ALL
            """, {"now": now}).fetchall()
            fired = {(f.rule_id, f.subject): f.value for f in alerts.evaluate(settings, rules, now=now)}
            assert len(raw) >= 3 and fired == pytest.approx({(scope, subject): value for scope, subject, value in raw}), now
    finally:
        con.close()


def test_cost_rules_from_the_rollups_equal_the_spans(scenarios: list[Scenario]) -> None:
    """Spend and projections read whole days from daily_metrics and the run-rate's first day and
    $now's day by the hour: at any `now` (later spans that day included) every number equals the
    same sums over the raw spans (whole hours, as the rollup counts them)."""
    settings = scenarios[1].settings
    rules = [alerts.make_rule({"id": f"{kind}-{scope}-{window}", "type": kind, "scope": scope, "threshold": 1e-9,
                               "window": window})
             for kind in ("cost_budget", "cost_run_rate") for scope in ("developer", "model", "total")
             for window in ("day", "week", "month")]
    con = warehouse.connect_readonly(settings.duckdb_path)
    try:
        for now in (NOW, NOW - timedelta(hours=9, minutes=13), DAY0 - timedelta(days=3, hours=2, minutes=30)):
            fired = {(f.rule_id, f.subject): (f.value, f.baseline) for f in alerts.evaluate(settings, rules, now=now)}
            expected = {}
            for rule in rules:
                start, end, _ = alerts._period(now, rule.window)
                column = {"developer": "developer_id", "model": "model", "total": "'all'"}[rule.scope]
                rows = con.execute(f"""
                    SELECT coalesce({column}, '(none)') AS subject,
                           coalesce(sum(cost_usd) FILTER (WHERE date_trunc('hour', start_time) >= $start), 0),
                           coalesce(sum(cost_usd) FILTER (WHERE date_trunc('hour', start_time) >= $week_ago), 0) / 7
                    FROM spans
                    WHERE date_trunc('hour', start_time) >= least($start, $week_ago) AND date_trunc('hour', start_time) < $now
                    GROUP BY 1
                """, {"start": start, "week_ago": now - timedelta(days=7), "now": now}).fetchall()
                for subject, spent, rate in rows:
                    projected = spent + rate * (end - now).total_seconds() / 86400
                    expected[(rule.id, subject)] = (spent, None) if rule.type == "cost_budget" else (projected, rate)
            assert fired.keys() == {k for k, (value, _) in expected.items() if value > 1e-9}, now
            for key, (value, baseline) in fired.items():
                assert value == pytest.approx(expected[key][0], rel=1e-9), (now, key)
                assert baseline == (None if expected[key][1] is None else pytest.approx(expected[key][1], rel=1e-9)), (now, key)
    finally:
        con.close()


def test_every_firing_carries_numbers_message_and_link(scenarios: list[Scenario]) -> None:
    rules = [alerts.make_rule(r) for r in RULES]
    firings = alerts.evaluate(scenarios[1].settings, rules, now=NOW)
    assert firings
    for f in firings:
        assert f.threshold is not None and f.message and f.link.startswith("/")
    spend = next(f for f in firings if f.rule_id == "spend")
    assert spend.value > 5 and f"developer={spend.subject}" in spend.link and "start=2026-11-20" in spend.link


def test_rules_file_cli_and_audit(scenarios: list[Scenario], capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = scenarios[1].settings
    monkeypatch.setenv("LENS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("USER", "auditor")
    monkeypatch.delenv("LENS_ALERT_WEBHOOK", raising=False)
    assert main(["alerts", "add", "error_rate", "--scope", "model", "--threshold", "0.2", "--id", "e20"]) == 0
    assert main(["alerts", "add", "error_rate", "--scope", "galaxy"]) == 2
    assert main(["alerts", "list"]) == 0
    assert main(["alerts", "check"]) == 0
    assert main(["alerts", "remove", "e20"]) == 0
    assert main(["alerts", "remove", "e20"]) == 2
    assert main(["alerts", "history"]) == 0
    out, err = capsys.readouterr()
    assert "added e20" in out and "removed e20" in out and "rule_added" in out and "by auditor" in out
    assert err.count("lens: error:") == 2 and "Traceback" not in err
    assert json.loads(alerts.rules_path(settings).read_text()) == {"rules": []}


def test_rules_from_lens_toml_are_read_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, alerts={"rules": [{"id": "t", "type": "source_silent", "scope": "project"}]})
    assert [r.origin for r in alerts.load_rules(settings)] == ["lens.toml"]
    with pytest.raises(alerts.AlertError, match="lens.toml"):
        alerts.remove_rule(settings, "t", "me")


def test_an_alert_failure_never_fails_the_ingest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path)
    alerts.rules_path(settings).parent.mkdir(parents=True)
    alerts.rules_path(settings).write_text("{not json")
    assert alerts.evaluate_after_ingest(settings) is None
    assert len([r for r in caplog.records if "alerts" in r.getMessage()]) == 1


# --- webhooks against a real HTTP server ---------------------------------------------------------

SECRET = "T000/B000/s3cr3t-token-xyz"


class Recorder(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []
    fail_next = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Recorder.fail_next:
            Recorder.fail_next -= 1
            self.send_response(503)
        else:
            Recorder.received.append({"path": self.path, "body": body, "id": self.headers["X-Lens-Alert-Id"]})
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Server:
    """http.server in a thread on a fixed port, so it can go down and come back."""

    def __init__(self) -> None:
        self.httpd: http.server.HTTPServer | None = None
        self.port = 0

    def start(self) -> None:
        http.server.HTTPServer.allow_reuse_address = True
        self.httpd = http.server.HTTPServer(("127.0.0.1", self.port), Recorder)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.httpd is not None
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    Recorder.received, Recorder.fail_next = [], 0
    srv = Server()
    srv.start()
    yield srv
    if srv.httpd is not None:
        srv.stop()


def spend_lake(root: Path, port: int, fmt: str) -> Settings:
    """alice spent $10 an hour ago; a $5/day rule; one webhook with a secret path."""
    url = f"http://127.0.0.1:{port}/hooks/{SECRET}"
    settings = Settings(data_dir=root, alerts={
        "webhooks": [{"url": url, "format": fmt}], "retries": 2, "backoff_s": 0.01, "timeout_s": 2, "cooldown_minutes": 60,
        "rules": [{"id": "alice-spend", "type": "cost_budget", "scope": "developer", "name": "dev0", "threshold": 5}],
    })
    spans = Spans()
    at = np.array([np.datetime64(NOW - timedelta(hours=1), "ms")])
    spans.add(at, np.array(["dev0"], dtype=object), np.array(["model-a"], dtype=object), np.array([1000.0]),
              np.array([10.0]), np.array([False]))
    write_lake(settings, spans.table("w"))
    return settings


def states() -> list[str]:
    return [r["body"].get("state") or r["body"]["text"].split()[1].lower() for r in Recorder.received]


def test_webhook_firing_cooldown_reminder_and_resolved(server: Server, tmp_path: Path) -> None:
    settings = spend_lake(tmp_path, server.port, "json")
    assert [f.rule_id for f in alerts.check(settings, now=NOW).new] == ["alice-spend"]
    alerts.check(settings, now=NOW + timedelta(minutes=10))  # still firing, within the cooldown
    assert states() == ["firing"]
    body = Recorder.received[0]["body"]
    assert body["value"] == pytest.approx(10.0) and body["threshold"] == 5 and body["link"].startswith("/cost?")
    alerts.check(settings, now=NOW + timedelta(minutes=61))  # cooldown over: reminded once
    assert states() == ["firing", "firing"]
    outcome = alerts.check(settings, now=NOW + timedelta(days=1))  # a new day: spend 0, resolved
    assert [f.rule_id for f in outcome.resolved] == ["alice-spend"]
    alerts.check(settings, now=NOW + timedelta(days=1, minutes=5))
    assert states() == ["firing", "firing", "resolved"]
    assert len({r["id"] for r in Recorder.received}) == 3
    events = [row["event"] for row in alerts.history(settings)]
    assert sorted(events) == ["firing", "resolved"]


def test_webhook_down_then_back_loses_nothing_and_duplicates_nothing(server: Server, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    settings = spend_lake(tmp_path, server.port, "slack")
    server.stop()
    outcome = alerts.check(settings, now=NOW)
    assert (outcome.sent, outcome.pending) == (0, 1) and Recorder.received == []
    server.start()
    Recorder.fail_next = 1  # one 503 first: retried within the same evaluation
    outcome = alerts.check(settings, now=NOW + timedelta(minutes=5))
    assert (outcome.sent, outcome.pending) == (1, 0)
    alerts.check(settings, now=NOW + timedelta(minutes=6))
    assert len(Recorder.received) == 1
    slack = Recorder.received[0]["body"]
    assert set(slack) == {"text", "blocks"} and "FIRING" in slack["text"] and "dev0" in slack["text"]
    assert Recorder.received[0]["path"] == f"/hooks/{SECRET}"
    logs = caplog.text + capsys.readouterr().out
    assert "127.0.0.1" in logs and "s3cr3t" not in logs and "/hooks/" not in logs


def test_cli_check_prints_only_the_webhook_host(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    settings = spend_lake(tmp_path, server.port, "json")
    alerts.add_rule(settings, alerts.make_rule({"id": "r", "type": "cost_budget", "scope": "total", "threshold": 1}), "t")
    monkeypatch.setenv("LENS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LENS_ALERT_WEBHOOK", f"http://127.0.0.1:{server.port}/hooks/{SECRET}")
    assert main(["alerts", "check"]) == 0
    out, err = capsys.readouterr()
    assert "webhook 127.0.0.1" in out and "s3cr3t" not in out + err


def test_a_rule_that_repeats_another_is_refused_and_a_stricter_one_is_added(
        scenarios: list[Scenario], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = scenarios[1].settings
    monkeypatch.setenv("LENS_DATA_DIR", str(settings.data_dir))
    add = ["alerts", "add", "error_rate", "--scope", "model", "--threshold", "0.05"]
    assert main(add) == 0
    assert main(add) == 2  # the same rule again would send every alert twice
    assert main([*add, "--id", "other-name"]) == 2  # whatever it is called
    assert main([*add[:-1], "0.2", "--severity", "critical"]) == 0  # a second level is a rule of its own
    out, err = capsys.readouterr()
    assert "alert rule 'error_rate-model' already does this" in err and err.count("lens: error:") == 2
    assert [r.threshold for r in alerts.load_rules(settings) if r.origin == "rules file"] == [0.05, 0.2]


# --- the rules editor (AppTest) ------------------------------------------------------------------

def _editor_page() -> None:
    from pages._alerts_ui import rules_editor

    rules_editor()


def test_admin_adds_a_rule_in_the_editor(sample_settings: Settings, app_users: Path) -> None:
    import pyarrow.parquet as pq
    from streamlit.testing.v1 import AppTest

    from conftest import log_in_as

    at = log_in_as(AppTest.from_function(_editor_page, default_timeout=30), "admin")
    at.run()
    assert not at.exception
    at.selectbox(key="alert_rules_type").set_value("error_rate")
    at.selectbox(key="alert_rules_scope").set_value("model")
    at.number_input(key="alert_rules_threshold").set_value(0.25)
    at.button(key="alert_rules_submit").click()
    at.run()
    rules = alerts.load_rules(sample_settings)
    try:
        assert not at.exception
        assert [(r.type, r.scope, r.threshold) for r in rules] == [("error_rate", "model", 0.25)]
        assert any("Added rule" in s.value for s in at.success)
        logged = [pq.read_table(f).to_pylist()[0] for f in sample_settings.audit_dir.glob("*-rule_change-*.parquet")]
        assert any(e["actor"] == "admin" and e["target"] == rules[0].id for e in logged), logged
    finally:
        for rule in rules:  # the sample lake is shared with the other page tests
            alerts.remove_rule(sample_settings, rule.id, "test")


def test_an_analyst_sees_the_rules_but_not_the_editor(sample_settings: Settings, app_users: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from conftest import log_in_as

    at = log_in_as(AppTest.from_function(_editor_page, default_timeout=30), "analyst")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe, "the rules table is for everyone"
    assert not at.get("form") and "alert_rules_submit" not in {b.key for b in at.button}
    assert any("Only admins" in c.value for c in at.caption)


def test_a_developer_sees_only_the_alerts_about_them_and_no_rule_changes(tmp_path: Path) -> None:
    """Alerts name people and their spend: a scoped user's `alerts` and `alert_history` hold the
    ones whose subject is their developer id or team, and no rule changes."""
    settings = Settings(data_dir=tmp_path / "data")
    warehouse.build(settings)
    at = datetime(2026, 11, 20, 12)
    rows = [alerts._event_row("firing", f"cost|{who}", "cost", "cost_budget", "warning", who, 10.0, 5.0, None,
                              f"{who} spent $10", "/cost", at, "lens") for who in ("ivan", "chen", "mobile")]
    rows.append(alerts._event_row("rule_added", "rule|cost", "cost", "cost_budget", "info", "(rule)", None, None, None,
                                  "rule added: developer budgets", "", at, "admin"))
    alerts._append_history(settings, rows)
    con = warehouse.connect_readonly(settings.duckdb_path)
    try:
        assert sorted(r[0] for r in con.execute("SELECT subject FROM alerts").fetchall()) == ["chen", "ivan", "mobile"]
        assert con.execute("SELECT count(*) FROM alert_history").fetchone()[0] == 4
        con.execute("SET VARIABLE lens_scoped = true")
        con.execute("SET VARIABLE lens_scope_developers = ['ivan']")
        con.execute("SET VARIABLE lens_scope_teams = ['mobile']")
        assert sorted(r[0] for r in con.execute("SELECT subject FROM alerts").fetchall()) == ["ivan", "mobile"]
        assert sorted(r[0] for r in con.execute("SELECT event FROM alert_history").fetchall()) == ["firing", "firing"]
    finally:
        con.close()
