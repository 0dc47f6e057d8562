"""Pulling configured sources: once (`ingest phoenix`, `ingest all`) or every N seconds (`--follow`).
Phoenix servers (`[sources.phoenix]`) and Arize AX (`[sources.arize]`) alike.

Each (source, project) pull is one pipeline run; its watermark is saved only after that run
finished, so a run stopped at any point is simply pulled again (the lake dedups by span_id).
A failed poll in follow mode logs one line and the loop goes on; Ctrl-C stops it between
or inside polls, the lake staying consistent either way.
"""
from __future__ import annotations

import itertools
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pyarrow as pa

from .config import Settings
from .errors import ConfigError, LensError, SourceError
from .pipeline import IngestSummary, ingest
from .sources import arize
from .sources.phoenix import PhoenixClient, ProjectNotFound, Window, db_batches, rest_batches
from .state import Watermark, WatermarkStore

Log = Callable[[str], None]

NO_SOURCES = (
    "no sources configured: add a [sources.phoenix] table to lens.toml"
    ' (url = "http://127.0.0.1:6006", projects = ["default"]; see the example there) or [sources.arize]'
    ' (space_id, projects), or run `python -m lens_etl ingest phoenix --url URL --project P`'
)
# Arize exports a whole chunk (a day) per call, the newest again on every pull: follow mode pulls
# it at most this often (`follow_every` in [sources.arize]), not at every poll of the servers.
ARIZE_FOLLOW_EVERY = "5m"


@dataclass(frozen=True)
class PhoenixSource:
    url: str
    projects: tuple[str, ...]
    db: str | None = None
    timeout_s: float = 30.0
    retries: int = 4

    @property
    def key(self) -> str:
        """Whose watermark: the database when read directly, else the server."""
        return self.db or self.url.rstrip("/")


def configured_sources(settings: Settings) -> list[PhoenixSource]:
    """`[sources.phoenix]` (one table) or `[[sources.phoenix]]` (several servers) from lens.toml."""
    entries: Any = settings.sources.get("phoenix", [])
    entries = [entries] if isinstance(entries, dict) else entries
    sources = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("url") and not entry.get("db"):
            raise ConfigError("lens.toml [sources.phoenix]: each entry needs url (and projects)")
        projects = entry.get("projects") or [entry.get("project") or "default"]
        if isinstance(projects, str) or not all(isinstance(p, str) for p in projects):
            raise ConfigError("lens.toml [sources.phoenix]: projects must be a list of names")
        try:
            sources.append(PhoenixSource(str(entry.get("url") or ""), tuple(projects), entry.get("db"),
                                         float(entry.get("timeout_s", 30)), int(entry.get("retries", 4))))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"lens.toml [sources.phoenix]: bad value: {exc}") from exc
    return sources


class BadValue(ConfigError, ValueError):
    """A flag's value is wrong; a ValueError so argparse reports it as a usage error."""


def parse_when(text: str) -> datetime:
    """`2025-10-01` or an ISO date-time; naive means UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadValue(f"{text!r}: not a date (expected YYYY-MM-DD or an ISO date-time)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def parse_every(text: str) -> float:
    """`5s`, `500ms`, `2m` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise BadValue(f"{text!r}: not an interval (expected e.g. 5s, 500ms, 2m)")
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def _non_empty(batches: Iterator[pa.Table]) -> Iterator[pa.Table] | None:
    """The batches, or None when the source has nothing new (an idle poll records no run)."""
    for first in batches:
        if first.num_rows:
            return itertools.chain([first], batches)
    return None


def _keeps_watermark(mark: Watermark, window: Window) -> bool:
    """A window bounded on either side says nothing of the spans outside it: after one, the old
    watermark stays (a `--since` pull would otherwise step over spans that started before it
    and were never read). Only a first pull, with no position yet, starts from its window."""
    return window.until is not None or (window.since is not None and (mark.cursor is not None or mark.rowid is not None))


def pull_phoenix(settings: Settings, source: PhoenixSource, window: Window = Window(), skip_empty: bool = False,
                 log: Log | None = None) -> list[IngestSummary]:
    """Each project of one Phoenix source: one pipeline run each, watermark saved after it, its
    line given to `log` as it ends. A missing project does not stop the others: it is raised
    once they are pulled."""
    store = WatermarkStore(settings.state_dir)
    summaries = []
    missing: list[ProjectNotFound] = []
    client = None if source.db else PhoenixClient(source.url, settings.env.get("PHOENIX_API_KEY"), source.timeout_s, source.retries)
    try:
        for project in source.projects:
            mark = store.get(source.key, project)
            working = replace(mark)
            batches: Iterator[pa.Table] | None = (
                db_batches(source.db, project, working, window) if source.db
                else rest_batches(client, project, working, window)  # type: ignore[arg-type]
            )
            try:
                if skip_empty:
                    batches = _non_empty(batches)
                    if batches is None:
                        continue
                summary = ingest(settings, "phoenix", f"{source.key}/{project}", batches, project=project,
                                 window=(window.since or mark.since_with_overlap(), window.until))
            except ProjectNotFound as exc:
                missing.append(exc)
                continue
            if not _keeps_watermark(mark, window):
                store.put(source.key, project, working)
            summaries.append(summary)
            if log is not None:
                log(summary.line())
    finally:
        if client is not None:
            client.close()
    _raise_after(missing, ProjectNotFound)
    return summaries


def _raise_after(failures: list[LensError], kind: type[LensError]) -> None:
    """What failed while the other projects and sources were pulled: one error, each message once."""
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise kind("; ".join(dict.fromkeys(str(e) for e in failures)))


def arize_configured(settings: Settings) -> bool:
    return bool(settings.sources.get("arize"))


def pull_arize(settings: Settings, skip_empty: bool = False, log: Log | None = None, overrides: dict[str, Any] | None = None,
               since: str | None = None, until: str | None = None) -> list[IngestSummary]:
    """Each project of `[sources.arize]` (flags laid over it): one pipeline run each over its
    window, its line given to `log` as it ends. A project that fails does not stop the others:
    the failures are raised once they are pulled."""
    summaries = []
    failures: list[SourceError] = []
    for pull in arize.batches_for_config(settings, overrides, since, until):
        try:
            batches: Iterator[pa.Table] | None = _non_empty(pull.batches) if skip_empty else pull.batches
            if batches is None:
                continue
            summaries.append(ingest(settings, "arize", pull.target, batches, project=pull.project, window=pull.window))
        except SourceError as exc:
            failures.append(exc)
            continue
        if log is not None:
            log(summaries[-1].line())
    _raise_after(failures, SourceError)
    return summaries


def ingest_all(settings: Settings, log: Log = print, skip_empty: bool = False) -> list[IngestSummary]:
    """Every configured source once (what `make ingest` runs): the Phoenix servers, then Arize.
    A source that fails does not keep the others from being pulled; its error is raised after."""
    sources = configured_sources(settings)
    if not sources and not arize_configured(settings):
        raise ConfigError(NO_SOURCES)
    summaries: list[IngestSummary] = []
    failures: list[LensError] = []
    pulls: list[Callable[[], list[IngestSummary]]] = [
        lambda source=source: pull_phoenix(settings, source, skip_empty=skip_empty, log=log) for source in sources]
    if arize_configured(settings):
        pulls.append(lambda: pull_arize(settings, skip_empty=skip_empty, log=log))
    for pull in pulls:
        try:
            summaries.extend(pull())
        except LensError as exc:
            failures.append(exc)
    _raise_after(failures, SourceError)
    return summaries


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """A service manager (systemd, `docker stop`) stops a process with SIGTERM, whose default is to
    die on the spot: mid-run that leaves the run recorded as running, the views' build file
    behind and, on a first run, no views at all. Taken as Ctrl-C, the run ends as interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def follow(settings: Settings, every_s: float, log: Log = print, stop: threading.Event | None = None) -> int:
    """Poll every configured source each `every_s` seconds until Ctrl-C or SIGTERM (or `stop`); polls run."""
    sources = configured_sources(settings)
    with_arize = arize_configured(settings)
    if not sources and not with_arize:
        raise ConfigError(NO_SOURCES)
    arize_every = parse_every(str(settings.sources["arize"].get("follow_every", ARIZE_FOLLOW_EVERY))) if with_arize else 0.0
    stop = stop or threading.Event()
    polls = 0
    arize_due = time.monotonic()
    log(f"following {len(sources) + with_arize} source(s) every {every_s:g}s"
        + (f" (Arize every {arize_every:g}s)" if with_arize else "") + "; Ctrl-C stops")
    try:
        with sigterm_as_ctrl_c():
            while not stop.is_set():
                started = time.monotonic()
                pulls: list[Callable[[], list[IngestSummary]]] = [
                    lambda source=source: pull_phoenix(settings, source, skip_empty=True, log=log) for source in sources]
                if with_arize and started >= arize_due:
                    arize_due = started + arize_every
                    pulls.append(lambda: pull_arize(settings, skip_empty=True, log=log))
                for pull in pulls:
                    try:
                        pull()
                    except LensError as exc:  # the error names the source
                        log(f"lens: poll failed, retrying in {every_s:g}s: {exc}")
                polls += 1
                stop.wait(max(0.0, every_s - (time.monotonic() - started)))
    except KeyboardInterrupt:
        log("follow: stopped; the lake is consistent")
    return polls
