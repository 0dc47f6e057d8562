"""Alerts: rules over the views, evaluated after each ingest and on demand; history and webhooks.

Rules live in `state_dir/alert_rules.json` (edited by the CLI and the app) and `[[alerts.rules]]`
in lens.toml (read-only here). Each rule type is one SQL file in `sql/alerts/` that evaluates
every rule of that type at once (rules bound as parallel lists), so 100 rules cost a handful of
queries on one read-only connection. Transitions (firing, resolved) and rule changes are appended
to `data/alerts/*.parquet` (views `alert_history`, `alerts`); webhook messages wait in an outbox
in `state_dir/alert_state.json` until delivered, so a webhook that is down loses nothing.
"""
from __future__ import annotations

import argparse
import calendar
import fcntl
import hashlib
import json
import logging
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlencode, urlsplit

import httpx
import pyarrow as pa

from . import budgets, warehouse
from .atomic import write_json_atomic
from .config import Settings
from .errors import LensError
from .lake import write_parquet_atomic
from .schema import ALERT_EVENT_SCHEMA

log = logging.getLogger("lens.alerts")
# httpx logs every request URL at INFO: webhook URLs are secrets, keep them out of any log.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

RULES_FILE = "alert_rules.json"
STATE_FILE = "alert_state.json"
ALERTS_SQL = warehouse.SQL_DIR / "alerts"
EVALUATION_THREADS = 3  # rule types evaluated side by side (each query alone leaves cores idle)
SEVERITIES = ("info", "warning", "critical")
WINDOWS = ("day", "week", "month")
METRICS = ("requests", "tokens", "cost_usd")
MAD_FLOORS = {"requests": 3.0, "tokens": 20_000.0, "cost_usd": 1.0}


class AlertError(LensError):
    """An alert rule, the rules file or the [alerts] settings are wrong."""


@dataclass(frozen=True)
class RuleType:
    """What a rule type measures: its SQL file, allowed scopes and defaults."""

    sql: str
    scopes: tuple[str, ...]
    threshold: float | None
    unit: str
    minutes: int = 60
    baseline_days: float = 1.0
    min_count: int = 10
    kind: str = ""


RULE_TYPES: dict[str, RuleType] = {
    "cost_budget": RuleType("cost", ("total", "developer", "team", "model"), None, "USD", kind="spent"),
    "cost_run_rate": RuleType("cost", ("total", "developer", "team", "model"), None, "USD", kind="projected"),
    "error_rate": RuleType("error_rate", ("total", "developer", "team", "model", "service", "source", "project"),
                           0.10, "share of model calls", min_count=20, kind="rate"),
    "error_spike": RuleType("error_rate", ("total", "developer", "team", "model", "service", "source", "project"),
                            3.0, "× baseline error rate", kind="spike"),
    "latency_p95": RuleType("latency_p95", ("total", "model"), 1.5, "× baseline p95", min_count=20),
    "usage_anomaly": RuleType("usage_anomaly", ("developer",), 4.0, "robust z-score", baseline_days=28),
    "source_silent": RuleType("source_silent", ("source", "project"), 30.0, "minutes", baseline_days=7),
    "dead_letter_surge": RuleType("ingest_surge", ("total", "source"), 3.0, "× baseline share", baseline_days=7,
                                  kind="dead_letters"),
    "unpriced_surge": RuleType("ingest_surge", ("total", "source"), 3.0, "× baseline share", baseline_days=7,
                               kind="unpriced"),
}


@dataclass(frozen=True)
class Rule:
    """One alert rule; an empty `name` means each subject of the scope (every developer, …)."""

    id: str
    type: str
    scope: str = "total"
    name: str = ""
    threshold: float | None = None
    window: str = "day"  # cost rules: the calendar period
    minutes: int = 60  # rate, latency and ingest rules: the recent window
    baseline_days: float = 1.0  # the trailing baseline (usage: weeks × 7; silence: the look-back)
    min_count: int = 10
    metric: str = "requests"  # usage_anomaly only
    severity: str = "warning"
    enabled: bool = True
    origin: str = "rules file"  # or "lens.toml" (read-only here)

    @property
    def spec(self) -> RuleType:
        return RULE_TYPES[self.type]

    def describe(self) -> str:
        who = f"{self.scope} {self.name}" if self.name else f"each {self.scope}" if self.scope != "total" else "total"
        limit = "budget" if self.threshold is None else f"{self.threshold:g} {self.spec.unit}"
        extra = f" per {self.window}" if self.spec.sql == "cost" else f" over {self.minutes} min" if self.type != "source_silent" else ""
        return f"{self.type} · {who} · {limit}{extra} · {self.severity}"


def make_rule(data: Mapping[str, Any], origin: str = "rules file") -> Rule:
    """A validated rule from a dict (JSON, TOML, CLI or the editor); type defaults fill the gaps."""
    kind = str(data.get("type") or "").strip()
    if kind not in RULE_TYPES:
        raise AlertError(f"alert rule {data.get('id') or ''}: type must be one of {', '.join(RULE_TYPES)}, got {kind!r}")
    spec = RULE_TYPES[kind]
    scope = str(data.get("scope") or spec.scopes[0]).strip().lower()
    if scope not in spec.scopes:
        raise AlertError(f"alert rule {kind}: scope must be one of {', '.join(spec.scopes)}, got {scope!r}")
    name = "" if scope == "total" else str(data.get("name") or "").strip()
    try:
        threshold = data.get("threshold", spec.threshold)
        threshold = None if threshold in (None, "") else float(threshold)
        rule = Rule(
            id=str(data.get("id") or _slug(kind, scope, name)), type=kind, scope=scope, name=name, threshold=threshold,
            window=str(data.get("window") or "day"), minutes=int(data.get("minutes") or spec.minutes),
            baseline_days=float(data.get("baseline_days") or spec.baseline_days),
            min_count=int(spec.min_count if data.get("min_count") is None else data["min_count"]), metric=str(data.get("metric") or "requests"),
            severity=str(data.get("severity") or "warning"), enabled=bool(data.get("enabled", True)), origin=origin,
        )
    except (TypeError, ValueError) as exc:
        raise AlertError(f"alert rule {data.get('id') or kind}: bad value: {exc}") from None
    problems = [
        rule.window not in WINDOWS and f"window must be one of {', '.join(WINDOWS)}",
        rule.severity not in SEVERITIES and f"severity must be one of {', '.join(SEVERITIES)}",
        rule.metric not in METRICS and f"metric must be one of {', '.join(METRICS)}",
        rule.threshold is None and spec.sql != "cost" and "needs a threshold",
        rule.threshold is None and scope == "model" and "a model has no budget: give a threshold in USD",
        rule.threshold is not None and rule.threshold <= 0 and "threshold must be positive",
        (rule.minutes <= 0 or rule.baseline_days <= 0 or rule.min_count < 0) and "minutes and baseline_days must be positive",
    ]
    problem = next((p for p in problems if p), None)
    if problem:
        raise AlertError(f"alert rule {rule.id}: {problem}")
    return rule


def _slug(*parts: str) -> str:
    return "-".join(p.replace(" ", "_") for p in parts if p)


# --- rules: the file and lens.toml -------------------------------------------------------------

def rules_path(settings: Settings) -> Path:
    return settings.state_dir / RULES_FILE


def alerts_dir(settings: Settings) -> Path:
    return settings.data_dir / "alerts"


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AlertError(f"{path}: cannot read {what}: {exc}") from None


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """One evaluation or rule edit at a time (ingest, follow, the CLI and the app may overlap)."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / "alerts.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _saved_rules(settings: Settings) -> list[Rule]:
    data = _read_json(rules_path(settings), "alert rules") or {}
    return [make_rule(row) for row in data.get("rules", [])]


def load_rules(settings: Settings) -> list[Rule]:
    """Every rule: lens.toml's `[[alerts.rules]]` first, then the rules file; ids are unique."""
    toml_rules = settings.alerts.get("rules", [])
    if not isinstance(toml_rules, list):
        raise AlertError("lens.toml [alerts]: rules must be [[alerts.rules]] tables")
    rules = [make_rule(row, origin="lens.toml") for row in toml_rules] + _saved_rules(settings)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise AlertError(f"alert rule id {rule.id!r} is defined twice (lens.toml and {rules_path(settings)})")
        seen.add(rule.id)
    return rules


def _save_rules(settings: Settings, rules: Sequence[Rule]) -> None:
    rows = [{k: v for k, v in asdict(r).items() if k != "origin"} for r in rules if r.origin != "lens.toml"]
    write_json_atomic(rules_path(settings), {"rules": rows})


def add_rule(settings: Settings, rule: Rule, actor: str) -> Rule:
    """Save a new rule (an id taken by another rule gets a numeric suffix) and audit the change.
    A rule that would do exactly what one already does is refused: it would only send every
    alert twice."""
    with _locked(settings):
        rules = load_rules(settings)
        same = next((r for r in rules if _settings_of(r) == _settings_of(rule)), None)
        if same is not None:
            raise AlertError(f"alert rule {same.id!r} already does this ({same.describe()}); "
                             "change its threshold, severity or window to add another")
        taken = {r.id for r in rules}
        rule_id, n = rule.id, 2
        while rule_id in taken:
            rule_id, n = f"{rule.id}-{n}", n + 1
        rule = replace(rule, id=rule_id, origin="rules file")
        _save_rules(settings, [*rules, rule])
        _audit(settings, "rule_added", rule, actor)
    return rule


def _settings_of(rule: Rule) -> Rule:
    """What a rule does, whatever it is called and wherever it is kept."""
    return replace(rule, id="", origin="")


def remove_rule(settings: Settings, rule_id: str, actor: str) -> Rule:
    """Delete a saved rule and audit it; lens.toml rules are changed in lens.toml."""
    with _locked(settings):
        rules = load_rules(settings)
        match = next((r for r in rules if r.id == rule_id), None)
        if match is None:
            raise AlertError(f"no alert rule {rule_id!r} (see `python -m lens_etl alerts list`)")
        if match.origin == "lens.toml":
            raise AlertError(f"alert rule {rule_id!r} is defined in lens.toml: remove it there")
        _save_rules(settings, [r for r in rules if r.id != rule_id])
        _audit(settings, "rule_removed", match, actor)
    return match


def _audit(settings: Settings, event: str, rule: Rule, actor: str) -> None:
    row = _event_row(event, f"rule|{rule.id}", rule.id, rule.type, rule.severity, rule.name, None, rule.threshold, None,
                     f"{event.replace('_', ' ')} by {actor}: {rule.describe()}", "", _utcnow(), actor, json.dumps(asdict(rule)))
    _append_history(settings, [row])


# --- evaluation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Firing:
    """One rule firing for one subject, with the numbers behind it and a link that explains it."""

    rule_id: str
    rule_type: str
    severity: str
    subject: str
    value: float | None
    threshold: float | None
    baseline: float | None
    count: int | None
    message: str
    link: str

    @property
    def key(self) -> str:
        return f"{self.rule_id}|{self.subject}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _period(now: datetime, window: str) -> tuple[datetime, datetime, float]:
    """The calendar period holding `now`, and its share of a month (for monthly budgets)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    if window == "day":
        return day, day + timedelta(days=1), 1 / days_in_month
    if window == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7), 7 / days_in_month
    start = day.replace(day=1)
    return start, start + timedelta(days=days_in_month), 1.0


def _minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _window_params(rules: Sequence[Rule], now: datetime) -> dict[str, list]:
    starts = [_minute(now - timedelta(minutes=r.minutes)) for r in rules]
    return {
        "window_starts": starts,
        "baseline_starts": [s - timedelta(days=r.baseline_days) for s, r in zip(starts, rules)],
        "min_counts": [r.min_count for r in rules],
    }


def _common(rules: Sequence[Rule]) -> dict[str, list]:
    return {"rule_ids": [r.id for r in rules], "scopes": [r.scope for r in rules], "names": [r.name for r in rules],
            "thresholds": [r.threshold for r in rules], "kinds": [r.spec.kind for r in rules]}


def query_params(settings: Settings, sql: str, rules: Sequence[Rule], now: datetime) -> dict[str, Any]:
    """The bound parameters of one rule type's SQL for these rules at `now`."""
    params: dict[str, Any] = {"now": now, **_common(rules)}
    if sql == "cost":
        periods = [_period(now, r.window) for r in rules]
        params |= {"period_starts": [p[0] for p in periods], "period_ends": [p[1] for p in periods],
                   "budget_shares": [p[2] for p in periods], **budgets.sql_params(budgets.load(settings)),
                   "min_start": min([p[0] for p in periods] + [now - timedelta(days=7)])}
    elif sql == "usage_anomaly":
        weeks = [max(1, round(r.baseline_days / 7)) for r in rules]
        slot = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        params = {"rule_ids": params["rule_ids"], "names": params["names"], "thresholds": params["thresholds"],
                  "metrics": [r.metric for r in rules], "weeks": weeks, "mad_floors": [MAD_FLOORS[r.metric] for r in rules],
                  "slot": slot, "min_start": slot - timedelta(days=7 * max(weeks) + 7),
                  "slot_dates": [(slot - timedelta(days=7 * k)).date() for k in range(max(weeks) + 1)]}
    elif sql == "source_silent":
        params = {k: params[k] for k in ("now", "rule_ids", "scopes", "names", "thresholds")}
        params["min_start"] = now - timedelta(days=max(r.baseline_days for r in rules))
    else:
        params |= _window_params(rules, now)
        params["min_start"] = min(params["baseline_starts"])
        if sql == "latency_p95":
            del params["kinds"]
        if sql == "error_rate":
            params |= _whole_hours(rules, params["window_starts"], params["baseline_starts"], now)
            del params["min_start"]
    return params


def _whole_hours(rules: Sequence[Rule], window_starts: list[datetime], baseline_starts: list[datetime],
                 now: datetime) -> dict[str, Any]:
    """The whole hours [hour_start, hour_end) of each rule's baseline (its start rounded down to the
    hour), read from hourly_metrics; the spans give the rest, from `span_start`. The rollup has no
    `source`: a source rule (or a baseline within one hour) reads only spans (hour_start = hour_end)."""
    starts, ends, span_starts = [], [], []
    for rule, window_start, baseline_start in zip(rules, window_starts, baseline_starts):
        start = baseline_start.replace(minute=0, second=0, microsecond=0)
        end = window_start.replace(minute=0, second=0, microsecond=0)
        if rule.scope == "source" or start >= end:
            start = end = window_start
            span_starts.append(baseline_start)
        else:
            span_starts.append(end)
        starts.append(start)
        ends.append(end)
    ranges = [(s, e) for s, e in zip(starts, ends) if s < e]
    return {"hour_starts": starts, "hour_ends": ends, "span_start": min(span_starts),
            "hours_min": min((s for s, _ in ranges), default=now), "hours_max": max((e for _, e in ranges), default=now)}


def evaluate(settings: Settings, rules: Sequence[Rule] | None = None, now: datetime | None = None) -> list[Firing]:
    """Every enabled rule over the views at `now` (UTC): the firings, one per rule and subject."""
    now = (now or _utcnow()).replace(tzinfo=None)
    rules = [r for r in (load_rules(settings) if rules is None else rules) if r.enabled]
    if not rules or not settings.duckdb_path.is_file():
        return []
    by_sql: dict[str, list[Rule]] = {}
    for rule in rules:
        by_sql.setdefault(rule.spec.sql, []).append(rule)
    index = {r.id: r for r in rules}
    firings: list[Firing] = []

    def rows_of(cursor: Any, sql_name: str, group: list[Rule]) -> list[tuple]:
        try:
            sql = (ALERTS_SQL / f"{sql_name}.sql").read_text(encoding="utf-8")
            return cursor.execute(sql, query_params(settings, sql_name, group, now)).fetchall()
        finally:
            cursor.close()

    with warehouse.attached_readonly(settings.duckdb_path, settings) as con, ThreadPoolExecutor(EVALUATION_THREADS) as pool:
        cursors = [warehouse.sibling_cursor(con) for _ in by_sql]  # one per thread: the rule types run side by side
        results = list(pool.map(rows_of, cursors, by_sql.keys(), by_sql.values()))
    for rows in results:
        for rule_id, subject, value, threshold, baseline, count, firing in rows:
            if firing:
                rule = index[rule_id]
                firings.append(Firing(rule_id, rule.type, rule.severity, subject, value, threshold, baseline, count,
                                      message(rule, subject, value, threshold, baseline, count, now),
                                      link(rule, subject, now)))
    return firings


def _usd(x: float | None) -> str:
    return "—" if x is None else f"${x:,.2f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2%}"


def _who(rule: Rule, subject: str) -> str:
    return "all traffic" if rule.scope == "total" else f"{rule.scope} {subject}"


def message(rule: Rule, subject: str, value: float | None, threshold: float | None, baseline: float | None,
            count: int | None, now: datetime) -> str:
    """The human sentence of a firing: what, how much, against what."""
    who = _who(rule, subject)
    kind = rule.type
    if kind == "cost_budget":
        limit = "budget share" if rule.threshold is None else "threshold"
        return f"{who} spent {_usd(value)} this {rule.window} (UTC), over the {limit} of {_usd(threshold)}"
    if kind == "cost_run_rate":
        return (f"{who} is on course to spend {_usd(value)} this {rule.window} at {_usd(baseline)}/day, "
                f"over {_usd(threshold)}")
    if kind == "error_rate":
        return f"{who}: {_pct(value)} of {count:,} model calls failed in the last {rule.minutes} min (limit {_pct(threshold)})"
    if kind == "error_spike":
        return (f"{who}: error rate {_pct(value)} over {count:,} model calls in the last {rule.minutes} min vs "
                f"{_pct(baseline)} in the {rule.baseline_days:g} day(s) before (limit ×{threshold:g})")
    if kind == "latency_p95":
        return (f"{who}: p95 latency {value:,.0f} ms over {count:,} requests in the last {rule.minutes} min vs "
                f"{baseline:,.0f} ms in the {rule.baseline_days:g} day(s) before (limit ×{threshold:g})")
    if kind == "usage_anomaly":
        slot = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        return (f"{who}: {count:,} {rule.metric} in {slot:%a %H:00} UTC vs a median of {baseline:,.1f} in that hour "
                f"of the {max(1, round(rule.baseline_days / 7))} weeks before (robust z {value:.1f} > {threshold:g})")
    if kind == "source_silent":
        if value is None:
            return f"{who}: no spans in the last {rule.baseline_days:g} day(s) (limit {threshold:g} min)"
        return f"{who}: no spans for {value:,.0f} min (limit {threshold:g} min)"
    what = "dead letters" if kind == "dead_letter_surge" else "unpriced spans"
    return (f"{who}: {count:,} {what} ({_pct(value)} of records read) in the last {rule.minutes} min vs "
            f"{_pct(baseline)} in the {rule.baseline_days:g} day(s) before (limit ×{threshold:g})")


FILTER_KEYS = {"developer": "developer", "team": "team", "model": "model", "service": "service"}


def link(rule: Rule, subject: str, now: datetime) -> str:
    """The screen that explains a firing, with the app's URL filters set (relative URL)."""
    page = {"cost": "cost", "error_rate": "models" if rule.scope == "model" else "live", "latency_p95": "models",
            "usage_anomaly": "developers", "source_silent": "live", "ingest_surge": ""}[rule.spec.sql]
    start = _period(now, rule.window)[0] if rule.spec.sql == "cost" else now - timedelta(days=max(rule.baseline_days, 1))
    params: list[tuple[str, str]] = [("range", "custom"), ("start", f"{start:%Y-%m-%d}"), ("end", f"{now:%Y-%m-%d}")]
    if rule.scope in FILTER_KEYS and subject != "(none)":
        params.append((FILTER_KEYS[rule.scope], subject))
    return f"/{page}?{urlencode(params)}"


# --- history ---------------------------------------------------------------------------------

def _event_row(event: str, key: str, rule_id: str, rule_type: str, severity: str, subject: str, value: float | None,
               threshold: float | None, baseline: float | None, text: str, url: str, at: datetime, actor: str,
               detail: str | None = None) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "event": event, "alert_key": key, "rule_id": rule_id, "rule_type": rule_type,
            "severity": severity, "subject": subject, "value": value, "threshold": threshold, "baseline": baseline,
            "message": text, "link": url, "event_at": at, "actor": actor, "detail": detail}


def _append_history(settings: Settings, rows: list[dict[str, Any]]) -> None:
    """One new Parquet file per batch of events, written atomically; the first one rebuilds the views."""
    if not rows:
        return
    folder = alerts_dir(settings)
    first = not any(folder.glob("*.parquet"))
    name = f"{_utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
    write_parquet_atomic(pa.Table.from_pylist(rows, schema=ALERT_EVENT_SCHEMA), folder / name)
    if first and settings.duckdb_path.is_file():
        warehouse.build(settings)  # the view read the empty relation until now


def _firing_row(event: str, f: Firing, at: datetime) -> dict[str, Any]:
    return _event_row(event, f.key, f.rule_id, f.rule_type, f.severity, f.subject, f.value, f.threshold, f.baseline,
                      f.message, f.link, at, "lens")


# --- webhooks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Webhook:
    """A notification target; the URL is a secret: only `host` is ever shown."""

    url: str = field(repr=False)
    format: str = "json"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "?"

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Delivery:
    """How hard to try: attempts per evaluation with exponential backoff, and the re-notify cooldown."""

    attempts: int = 3
    backoff_s: float = 0.5
    timeout_s: float = 5.0
    cooldown_s: float = 3600.0


def webhooks(settings: Settings) -> list[Webhook]:
    """`[alerts] webhooks = [{url, format}]` from lens.toml, plus env LENS_ALERT_WEBHOOK."""
    entries = list(settings.alerts.get("webhooks", []))
    if settings.env.get("LENS_ALERT_WEBHOOK"):
        url = settings.env["LENS_ALERT_WEBHOOK"]
        entries.append({"url": url, "format": settings.env.get("LENS_ALERT_WEBHOOK_FORMAT")
                        or ("slack" if "slack" in (urlsplit(url).hostname or "") else "json")})
    hooks = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping) or not str(entry.get("url", "")).startswith(("http://", "https://")):
            raise AlertError(f"lens.toml [alerts] webhook {n}: needs url = \"https://…\"")
        fmt = str(entry.get("format") or "json")
        if fmt not in ("slack", "json"):
            raise AlertError(f"lens.toml [alerts] webhook {n} ({urlsplit(entry['url']).hostname}): format must be slack or json")
        hooks.append(Webhook(str(entry["url"]), fmt))
    return hooks


def delivery(settings: Settings) -> Delivery:
    cfg = settings.alerts
    try:
        return Delivery(int(cfg.get("retries", 3)), float(cfg.get("backoff_s", 0.5)), float(cfg.get("timeout_s", 5)),
                        float(cfg.get("cooldown_minutes", 60)) * 60)
    except (TypeError, ValueError) as exc:
        raise AlertError(f"lens.toml [alerts]: bad value: {exc}") from None


ICONS = {"firing": {"critical": "🔴", "warning": "🟠", "info": "🔵"}, "resolved": "✅"}


def payload(message_: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """The JSON body: Slack's {text, blocks} or the generic event with its numbers."""
    f = message_["firing"]
    state = message_["state"]
    icon = ICONS["resolved"] if state == "resolved" else ICONS["firing"].get(f["severity"], "🟠")
    title = f"{icon} {state.upper()} [{f['severity']}] {f['rule_id']}"
    if fmt == "slack":
        text = f"{title}: {f['message']}"
        return {"text": text, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{f['message']}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"subject `{f['subject']}` · value {f['value']}"
                                              f" · threshold {f['threshold']} · baseline {f['baseline']} · {f['link']}"}]},
        ]}
    return {"id": message_["id"], "state": state, "at": message_["at"], **f}


def _post(client: httpx.Client, hook: Webhook, body: dict[str, Any], settings_: Delivery, msg_id: str) -> bool:
    """POST with retries and exponential backoff; True once the webhook answered 2xx."""
    for attempt in range(settings_.attempts):
        if attempt:
            time.sleep(settings_.backoff_s * 2 ** (attempt - 1))
        try:
            response = client.post(hook.url, json=body, headers={"X-Lens-Alert-Id": msg_id})
            if response.is_success:
                return True
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__  # never str(exc): it may carry the URL
        log.warning("alerts: webhook %s (%s) attempt %d/%d failed: %s", hook.host, hook.format, attempt + 1,
                    settings_.attempts, problem)
    return False


def deliver(outbox: list[dict[str, Any]], hooks: Sequence[Webhook], settings_: Delivery) -> list[dict[str, Any]]:
    """Send the queued messages in order; return those still undelivered (kept for the next evaluation).
    A webhook that fails keeps the rest of its queue too, so messages never arrive out of order."""
    by_id = {h.id: h for h in hooks}
    left: list[dict[str, Any]] = []
    down: set[str] = set()
    with httpx.Client(timeout=settings_.timeout_s) as client:
        for msg in outbox:
            hook = by_id.get(msg["webhook"])
            if hook is None:
                continue  # the webhook was removed from the config: nobody to tell
            if hook.id in down or not _post(client, hook, payload(msg, hook.format), settings_, msg["id"]):
                down.add(hook.id)
                left.append(msg)
    return left


# --- one evaluation: transitions, history, notifications -------------------------------------

@dataclass
class Outcome:
    firings: list[Firing]
    new: list[Firing]
    resolved: list[Firing]
    sent: int
    pending: int


def _as_firing(data: Mapping[str, Any]) -> Firing:
    return Firing(**{f.name: data.get(f.name) for f in fields(Firing)})


def check(settings: Settings, now: datetime | None = None, notify: bool = True) -> Outcome:
    """Evaluate, record transitions in the history, queue and send webhook messages.

    A condition that stays true is notified again only after the cooldown; one that clears
    gets a resolved message. Undelivered messages stay queued for the next evaluation."""
    now = (now or _utcnow()).replace(tzinfo=None)
    hooks = webhooks(settings) if notify else []
    how = delivery(settings)
    with _locked(settings):
        firings = evaluate(settings, now=now)
        state = _read_json(settings.state_dir / STATE_FILE, "alert state") or {}
        active: dict[str, Any] = state.get("active", {})
        outbox: list[dict[str, Any]] = state.get("outbox", [])
        current = {f.key: f for f in firings}
        new = [f for k, f in current.items() if k not in active]
        resolved = [_as_firing(active[k]["firing"]) for k in active if k not in current]
        history = [_firing_row("firing", f, now) for f in new] + [_firing_row("resolved", f, now) for f in resolved]

        def queue(state_: str, f: Firing) -> None:
            for hook in hooks:
                outbox.append({"id": uuid.uuid4().hex, "webhook": hook.id, "state": state_, "at": now.isoformat(),
                               "firing": asdict(f)})

        for f in resolved:
            queue("resolved", f)
            del active[f.key]
        for key, f in current.items():
            entry = active.get(key)
            due = entry is None or (now - datetime.fromisoformat(entry["notified_at"])).total_seconds() >= how.cooldown_s
            if due:
                queue("firing", f)
            active[key] = {"since": entry["since"] if entry else now.isoformat(), "firing": asdict(f),
                           "notified_at": now.isoformat() if due else entry["notified_at"]}
        _append_history(settings, history)
        queued = len(outbox)
        state = {"active": active, "outbox": outbox}
        write_json_atomic(settings.state_dir / STATE_FILE, state)
        if hooks and outbox:
            outbox = deliver(outbox, hooks, how)
            write_json_atomic(settings.state_dir / STATE_FILE, {"active": active, "outbox": outbox})
    return Outcome(firings, new, resolved, queued - len(outbox), len(outbox))


def evaluate_after_ingest(settings: Settings) -> Outcome | None:
    """The pipeline's hook: an alert problem is logged in one line and never fails the ingest."""
    try:
        if not load_rules(settings):
            return None
        outcome = check(settings)
    except Exception as exc:  # noqa: BLE001 - alerting must not break ingest
        log.warning("alerts: evaluation failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None
    if outcome.new or outcome.resolved or outcome.pending:
        log.warning("alerts: %d firing (%d new, %d resolved), %d message(s) sent, %d waiting", len(outcome.firings),
                    len(outcome.new), len(outcome.resolved), outcome.sent, outcome.pending)
    return outcome


def history(settings: Settings, limit: int = 50) -> list[dict[str, Any]]:
    """The newest history events (firings, resolutions, rule changes), newest first."""
    if not settings.duckdb_path.is_file():
        return []
    con = warehouse.connect_readonly(settings.duckdb_path, settings)
    try:
        cur = con.execute("SELECT event_at, event, rule_id, subject, severity, message, actor FROM alert_history "
                          "ORDER BY event_at DESC LIMIT ?", [limit])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


# --- the CLI's `alerts` command ----------------------------------------------------------------

def add_commands(commands: Any) -> None:
    """`alerts check | list | history | add | remove` under the CLI's subcommands."""
    parser = commands.add_parser("alerts", help="alert rules: check, list, history, add, remove")
    sub = parser.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    sub.add_parser("check", help="evaluate every rule now, notify webhooks, print what fires").set_defaults(handler=_cli_check)
    sub.add_parser("list", help="the rules").set_defaults(handler=_cli_list)
    hist = sub.add_parser("history", help="the newest firings, resolutions and rule changes")
    hist.add_argument("--limit", type=_positive_int, default=50, help="how many events (default 50)")
    hist.set_defaults(handler=_cli_history)
    add = sub.add_parser("add", help="add a rule, e.g. `alerts add error_rate --scope model --threshold 0.2`")
    add.add_argument("type", choices=list(RULE_TYPES))
    add.add_argument("--id", help="rule id (default: type-scope-name)")
    add.add_argument("--scope", help="total, developer, team, model, service, source or project (per type)")
    add.add_argument("--name", default="", help="one developer/team/model/…; default: each one")
    add.add_argument("--threshold", type=_finite_float, help="see `alerts list` for each type's unit")
    add.add_argument("--window", choices=WINDOWS, help="cost rules: day, week or month")
    add.add_argument("--minutes", type=int, help="the recent window in minutes")
    add.add_argument("--baseline-days", type=_finite_float, help="the trailing baseline (silence: look-back) in days")
    add.add_argument("--min-count", type=int, help="the least calls/errors/records before it can fire")
    add.add_argument("--metric", choices=METRICS, help="usage_anomaly: requests, tokens or cost_usd")
    add.add_argument("--severity", choices=SEVERITIES, default="warning")
    add.set_defaults(handler=_cli_add)
    remove = sub.add_parser("remove", help="remove a rule by id")
    remove.add_argument("rule_id")
    remove.set_defaults(handler=_cli_remove)


def _positive_int(text: str) -> int:
    """A count flag: a whole number of at least 1 (argparse shows the message as one line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def _finite_float(text: str) -> float:
    """A number flag; `nan` and `inf` parse as floats but would make a rule that never fires."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _actor(settings: Settings) -> str:
    return settings.env.get("USER") or settings.env.get("USERNAME") or "cli"


def _cli_check(settings: Settings, _: Any) -> None:
    outcome = check(settings)
    for f in outcome.firings:
        print(f"[{f.severity}] {f.rule_id}: {f.message}  → {f.link}")
    print(f"{len(outcome.firings)} firing ({len(outcome.new)} new, {len(outcome.resolved)} resolved)"
          f" · {len(load_rules(settings))} rule(s) · messages sent {outcome.sent}, waiting {outcome.pending}"
          + "".join(f" · webhook {h.host}" for h in webhooks(settings)))


def _cli_list(settings: Settings, _: Any) -> None:
    rules = load_rules(settings)
    for r in rules:
        print(f"{r.id}  {r.describe()}{'' if r.enabled else ' · disabled'}  ({r.origin})")
    print(f"{len(rules)} rule(s); types: {', '.join(f'{k} ({v.unit})' for k, v in RULE_TYPES.items())}")


def _cli_history(settings: Settings, args: Any) -> None:
    rows = history(settings, args.limit)
    for row in rows:
        print(f"{row['event_at']:%Y-%m-%d %H:%M:%S}  {row['event']:<12} {row['rule_id']}  {row['message']}")
    print(f"{len(rows)} event(s)")


def _cli_add(settings: Settings, args: Any) -> None:
    keys = ("id", "scope", "name", "threshold", "window", "minutes", "baseline_days", "min_count", "metric", "severity")
    data = {k: getattr(args, k) for k in keys if getattr(args, k) not in (None, "")}
    rule = add_rule(settings, make_rule({"type": args.type, **data}), _actor(settings))
    print(f"added {rule.id}: {rule.describe()}")


def _cli_remove(settings: Settings, args: Any) -> None:
    rule = remove_rule(settings, args.rule_id, _actor(settings))
    print(f"removed {rule.id}: {rule.describe()}")

