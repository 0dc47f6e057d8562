"""Arize AX: spans pulled through the `arize` SDK's Arrow Flight export, one time chunk at a time.

Each chunk (a UTC day by default) is exported with `spans.export_to_parquet`, which streams
the Flight record batches to a scratch file instead of gathering a whole day in pandas
(`export_to_df` concatenates, sorts and parses JSON row by row in memory). The file is read
back in bounded batches of flat-layout JSON docs. A small thread pool downloads the next
chunks while the current one is loaded. A chunk counts as done in `state/arize_days.json`
only once all its batches went through the pipeline; a rerun skips done chunks except the
newest one, which it pulls again (the lake dedups by span_id, so the overlap is free).
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import threading
import tomllib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import flight

from ..atomic import write_json_atomic
from ..config import Settings
from ..errors import ConfigError, SourceError
from .raw import rows_as_json, without_nan

if TYPE_CHECKING:
    from arize.spans.client import SpansClient

DEFAULT_FLIGHT = ("flight.arize.com", 443, "grpc+tls")
STATE_FILE = "arize_days.json"
ROWS_PER_BATCH = 50_000
_DURATION = re.compile(r"^\s*(\d+)\s*([dh])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ArizeConfig:
    """`[sources.arize]` of lens.toml, with flags laid over it."""

    space_id: str
    projects: tuple[str, ...]
    flight_host: str = DEFAULT_FLIGHT[0]
    flight_port: int = DEFAULT_FLIGHT[1]
    flight_scheme: str = DEFAULT_FLIGHT[2]
    chunk: timedelta = timedelta(days=1)
    lookback: timedelta = timedelta(days=7)
    workers: int = 2

    @property
    def endpoint(self) -> str:
        return f"{self.flight_scheme}://{self.flight_host}:{self.flight_port}"


@dataclass(frozen=True)
class Window:
    """One export call: [start, end) in UTC, on chunk boundaries."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%MZ}/{self.end:%Y-%m-%dT%H:%MZ}"


@dataclass
class ArizePull:
    """One project's pull, ready for `pipeline.ingest`; nothing is fetched until iterated."""

    project: str
    target: str
    window: tuple[datetime, datetime]
    windows: list[Window]
    skipped: int
    batches: Iterator[pa.Table]


def parse_chunk(text: str | timedelta) -> timedelta:
    """`1d`, `6h`, …: whole hours, the granularity Arize's export works in."""
    if isinstance(text, timedelta):
        chunk = text
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ConfigError(f"chunk {text!r}: expected a number of days or hours such as 1d or 6h")
        count, unit = int(match.group(1)), match.group(2).lower()
        chunk = timedelta(days=count) if unit == "d" else timedelta(hours=count)
    if chunk < timedelta(hours=1) or chunk % timedelta(hours=1):
        raise ConfigError(f"chunk {text!r}: must be a whole number of hours, at least 1h")
    return chunk


def parse_time(text: str | date | datetime) -> datetime:
    """A date or ISO datetime; one without a zone means UTC."""
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, date):
        value = datetime(text.year, text.month, text.day)
    else:
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigError(f"{text!r}: expected a date (2025-03-01) or an ISO datetime") from exc
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _projects(table: Mapping[str, Any]) -> tuple[str, ...]:
    value = table.get("projects") or table.get("project") or ()
    names = [value] if isinstance(value, str) else list(value)
    return tuple(str(n) for n in names if str(n).strip())


def config_from(settings: Settings, overrides: Mapping[str, Any] | None = None) -> ArizeConfig:
    """lens.toml's `[sources.arize]`, then ARIZE_FLIGHT_* from the environment, then flags."""
    table = {**dict(settings.sources.get("arize", {}) or {}), **{k: v for k, v in (overrides or {}).items() if v}}
    env = settings.env
    space_id = str(table.get("space_id") or env.get("ARIZE_SPACE_ID") or "").strip()
    projects = _projects(table)
    if not space_id:
        raise ConfigError("Arize: no space id (--space-id, or space_id in [sources.arize] of lens.toml)")
    if not projects:
        raise ConfigError("Arize: no project (--project, or project/projects in [sources.arize] of lens.toml)")
    try:
        return ArizeConfig(
            space_id=space_id,
            projects=projects,
            flight_host=str(table.get("flight_host") or env.get("ARIZE_FLIGHT_HOST") or DEFAULT_FLIGHT[0]),
            flight_port=int(table.get("flight_port") or env.get("ARIZE_FLIGHT_PORT") or DEFAULT_FLIGHT[1]),
            flight_scheme=str(table.get("flight_scheme") or env.get("ARIZE_FLIGHT_SCHEME") or DEFAULT_FLIGHT[2]),
            chunk=parse_chunk(table.get("chunk") or "1d"),
            lookback=timedelta(days=int(table.get("lookback_days") or 7)),
            workers=max(1, int(table.get("workers") or 2)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[sources.arize]: bad value: {exc}") from exc


def api_key(settings: Settings) -> str:
    """ARIZE_API_KEY, else `arize_api_key` in the secrets file (.streamlit/secrets.toml, where
    Streamlit looks, or env LENS_SECRETS_FILE)."""
    key = settings.env.get("ARIZE_API_KEY", "").strip()
    secrets = settings.secrets_file
    if not key and secrets.is_file():
        try:
            key = str(tomllib.loads(secrets.read_text(encoding="utf-8")).get("arize_api_key", "")).strip()
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{secrets}: not valid TOML: {exc}") from exc
    if not key:
        raise SourceError(f"Arize: no API key; set ARIZE_API_KEY (or arize_api_key in {secrets})")
    return key


def chunk_windows(since: datetime, until: datetime, chunk: timedelta) -> list[Window]:
    """Chunks aligned to multiples of `chunk` since the epoch, so reruns meet the same keys."""
    step = int(chunk.total_seconds())
    first = int(since.timestamp()) // step * step
    last = int(until.timestamp())
    return [
        Window(datetime.fromtimestamp(t, timezone.utc), datetime.fromtimestamp(t + step, timezone.utc))
        for t in range(first, last, step)
    ]


class ChunkLedger:
    """`state_dir/arize_days.json`: the windows fully pulled, per space and project."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STATE_FILE
        self._lock = threading.Lock()

    def _load(self) -> dict[str, list[str]]:
        if not self.path.is_file():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def done(self, key: str) -> set[str]:
        return set(self._load().get(key, []))

    def mark(self, key: str, window: Window) -> None:
        with self._lock:
            state = self._load()
            state[key] = sorted(set(state.get(key, [])) | {window.key})
            write_json_atomic(self.path, state)


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.removeprefix("Error getting flight info or do_get: ").split(". Detail:")[0].split(". gRPC client debug")[0]


def _source_error(exc: Exception, config: ArizeConfig, project: str, window: Window) -> SourceError:
    """The SDK wraps Flight errors in RuntimeError; name what the user can fix."""
    cause = exc.__cause__ if isinstance(exc, RuntimeError) and exc.__cause__ is not None else exc
    text = _first_line(cause)
    if isinstance(cause, (flight.FlightUnauthenticatedError, flight.FlightUnauthorizedError)):
        return SourceError(f"Arize AX at {config.endpoint} refused the API key for space {config.space_id}: {text}")
    if isinstance(cause, flight.FlightUnavailableError):
        return SourceError(f"Arize AX: cannot reach {config.endpoint}: {text}")
    if isinstance(cause, flight.FlightTimedOutError):
        return SourceError(f"Arize AX: {config.endpoint} timed out exporting {project} {window.key}")
    if isinstance(cause, KeyError) or "not found" in text.lower():
        return SourceError(f"Arize AX: unknown space {config.space_id!r} or project {project!r}: {text}")
    return SourceError(f"Arize AX: export of {project} {window.key} failed: {text}")


def _spans_client(settings: Settings, config: ArizeConfig) -> "SpansClient":
    """The real SDK client; its own logging would print tracebacks for errors we report in one line."""
    key = api_key(settings)
    from arize import ArizeClient  # the SDK takes seconds to import; only pay for it here

    if not settings.env.get("ARIZE_LOG_LEVEL"):
        logging.getLogger("arize").setLevel(logging.CRITICAL)
    client = ArizeClient(
        api_key=key, flight_host=config.flight_host, flight_port=config.flight_port, flight_scheme=config.flight_scheme
    )
    return client.spans


def _export(spans: "SpansClient", config: ArizeConfig, project: str, window: Window, folder: Path) -> tuple[Path | None, bool]:
    """One chunk to a scratch Parquet file; also whether the window had fully passed when asked."""
    complete = window.end <= datetime.now(timezone.utc)
    path = folder / f"{window.start:%Y%m%dT%H%M}.parquet"
    try:
        spans.export_to_parquet(
            path=str(path), space_id=config.space_id, project_name=project, start_time=window.start, end_time=window.end
        )
    except (RuntimeError, flight.FlightError, pa.ArrowException, OSError) as exc:
        path.unlink(missing_ok=True)
        raise _source_error(exc, config, project, window) from exc
    return (path if path.exists() else None), complete


def _chunk_batches(path: Path, source_name: str, con: duckdb.DuckDBPyConnection) -> Iterator[pa.Table]:
    row = 1
    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROWS_PER_BATCH):
        yield rows_as_json(without_nan(batch), source_name, row, con)
        row += batch.num_rows


def _batches(
    spans: "SpansClient", config: ArizeConfig, project: str, windows: list[Window], ledger: ChunkLedger, scratch: Path
) -> Iterator[pa.Table]:
    """Chunks in time order, the next ones downloading meanwhile; a chunk is marked done only
    when the pipeline asks for the batch after its last one (so its spans are in the lake)."""
    if not windows:
        return
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="arize-", dir=scratch))
    pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="arize-export")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    queue = iter(windows)
    pending: deque[tuple[Window, Future[tuple[Path | None, bool]]]] = deque()

    def submit_next() -> None:
        window = next(queue, None)
        if window is not None:
            pending.append((window, pool.submit(_export, spans, config, project, window, folder)))

    try:
        for _ in range(config.workers):
            submit_next()
        while pending:
            window, future = pending.popleft()
            path, complete = future.result()
            submit_next()
            if path is not None:
                yield from _chunk_batches(path, f"arize:{config.space_id}/{project}/{window.key}", con)
                path.unlink(missing_ok=True)
            if complete:
                ledger.mark(f"{config.space_id}/{project}", window)
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def plan(config: ArizeConfig, project: str, since: datetime, until: datetime, ledger: ChunkLedger) -> tuple[list[Window], int]:
    """The windows to pull: all chunks of [since, until) but those done, bar the newest done."""
    windows = chunk_windows(since, until, config.chunk)
    done = ledger.done(f"{config.space_id}/{project}")
    newest = max(done) if done else None
    todo = [w for w in windows if w.key not in done or w.key == newest]
    return todo, len(windows) - len(todo)


def pulls(
    settings: Settings,
    config: ArizeConfig,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> list[ArizePull]:
    """One lazy pull per project; checks the API key and the window before anything runs."""
    end = parse_time(until) if until is not None else datetime.now(timezone.utc)
    start = parse_time(since) if since is not None else end - config.lookback
    if start >= end:
        raise ConfigError(f"Arize: --since {start:%Y-%m-%d %H:%M} is not before --until {end:%Y-%m-%d %H:%M}")
    spans = _spans_client(settings, config)
    ledger = ChunkLedger(settings.state_dir)
    result = []
    for project in config.projects:
        windows, skipped = plan(config, project, start, end, ledger)
        batches = _batches(spans, config, project, windows, ledger, settings.data_dir / "tmp")
        result.append(ArizePull(project, f"{config.space_id}/{project}", (start, end), windows, skipped, batches))
    return result


def batches_for_config(
    settings: Settings,
    overrides: Mapping[str, Any] | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> list[ArizePull]:
    """For `ingest arize` and `ingest all`: `[sources.arize]` (+ overrides) -> one pull per project."""
    return pulls(settings, config_from(settings, overrides), since, until)
