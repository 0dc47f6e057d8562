"""One ingest run: extract batches -> normalize -> load, then views; counts that add up.

Every record read ends as exactly one lake row, one duplicate, or one dead letter, and the
summary line says how many of each. A crash or Ctrl-C leaves the lake readable; the next
run skips what is already there and completes the rest.
"""
from __future__ import annotations

import itertools
import sys
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from . import alerts, ledger, memory, retention, rollups, warehouse, writer_lock
from .config import Settings
from .identity import load_identity
from .lake import Lake, run_memory_bytes
from .normalize import NormalizeContext, NormalizedBatch, NormalizerPool


@dataclass
class IngestSummary:
    run_id: str
    source: str
    target: str
    read: int = 0
    written: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    unpriced: int = 0
    blackouts: int = 0
    redactions: int = 0
    duration_s: float = 0.0
    status: str = "running"
    error: str | None = None
    window: tuple[datetime | None, datetime | None] = (None, None)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def line(self) -> str:
        """The one summary line every run ends with."""
        rate = self.read / self.duration_s if self.duration_s > 0 else 0.0
        text = (
            f"{self.source}: read {self.read:,} · written {self.written:,} · duplicates {self.duplicates:,}"
            f" · dead letters {self.dead_letters:,} · unpriced {self.unpriced:,}"
            f" · {self.duration_s:.1f}s ({rate:,.0f} spans/s)"
        )
        if self.blackouts:
            text += f" · content blackouts {self.blackouts:,}"
        return text if self.status == "ok" else f"{text} · {self.status}"

    def row(self) -> dict[str, object]:
        def naive(ts: datetime | None) -> datetime | None:
            return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts and ts.tzinfo else ts

        return {
            "run_id": self.run_id,
            "source": self.source,
            "target": self.target,
            "window_start": naive(self.window[0]),
            "window_end": naive(self.window[1]),
            "started_at": naive(self.started_at),
            "finished_at": naive(datetime.now(timezone.utc)),
            "duration_s": self.duration_s,
            "read": self.read,
            "written": self.written,
            "duplicates": self.duplicates,
            "dead_letters": self.dead_letters,
            "unpriced": self.unpriced,
            "blackouts": self.blackouts,
            "redactions": self.redactions,
            "status": self.status,
            "error": self.error,
        }


def _build_after_failure(settings: Settings, next_file: warehouse.NextFile | None) -> None:
    """The views over what landed before a run failed; a build that fails too (the disk that was
    full is full still) is said on stderr, so the run's own error is the one the user reads."""
    try:
        warehouse.build(settings, publish=False, next_file=next_file)
    except Exception as exc:  # noqa: BLE001 - the run's error is already on its way out
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"lens: the views were not rebuilt either: {first}", file=sys.stderr)


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


_END = object()


def read_ahead(batches: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """The source's next batch is read (a file chunk, an API page, a database query) on a thread
    of its own while the caller works on this one. A source's error reaches the caller after the
    batches it gave before it; a caller that stops early stops the source too."""
    slot: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    source = iter(batches)

    def offer(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for batch in source:
                if not offer((True, batch)):
                    return
            offer((True, _END))
        except BaseException as exc:  # handed to the caller's thread
            offer((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    threading.Thread(target=pump, name="read-ahead", daemon=True).start()
    try:
        while True:
            ok, item = slot.get()
            if not ok:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()


def ingest(
    settings: Settings,
    source: str,
    target: str,
    batches: Iterable[pa.Table],
    project: str | None = None,
    window: tuple[datetime | None, datetime | None] = (None, None),
    on_batch: Callable[[IngestSummary], None] | None = None,
) -> IngestSummary:
    """Run batches through normalize and load; record the run; rebuild the views. One run at a
    time writes a lake: a second waits for the first (the spans it wrote are then duplicates)."""
    with writer_lock.exclusive(settings.spans_dir, f"ingest of {target or source}"):
        return _ingest(settings, source, target, batches, project, window, on_batch)


def _ingest(
    settings: Settings,
    source: str,
    target: str,
    batches: Iterable[pa.Table],
    project: str | None,
    window: tuple[datetime | None, datetime | None],
    on_batch: Callable[[IngestSummary], None] | None,
) -> IngestSummary:
    run_id = new_run_id()
    summary = IngestSummary(run_id=run_id, source=source, target=target, window=window)
    clock = time.perf_counter()
    context = NormalizeContext(
        run_id=run_id,
        source=source,
        project=project or settings.project,
        ingested_at=summary.started_at,
        identity=load_identity(settings.identity_file),
        preview_chars=settings.preview_chars,
        max_record_bytes=settings.max_record_bytes,
        redaction=settings.redaction,
    )
    lake = Lake(settings.spans_dir, run_id, buffer_bytes=settings.write_buffer_bytes,
                memory_bytes=run_memory_bytes(settings.batch_bytes))
    normalizers = NormalizerPool(context)
    ledger.write_run(settings.runs_dir, summary.row())
    # Spans the lake already holds are counted and skipped before normalization; into a lake
    # that held none (a first load, a backfill) nothing is, and the extra parse is not worth it:
    # the load stage still drops a span seen twice in this run.
    prefilter = bool(lake.partitions())

    def load(seq: int, read: int, skipped: int, normalized: Future[NormalizedBatch]) -> None:
        """A normalized batch into the lake, in batch order, and its counts into the summary."""
        batch = normalized.result()
        ledger.write_dead_letters(settings.deadletter_dir, run_id, seq, batch.dead_letters)
        result = lake.write(batch.spans)
        summary.read += read
        summary.written += result.written
        summary.duplicates += result.duplicates + skipped
        summary.dead_letters += batch.dead_letters.num_rows
        summary.unpriced += batch.unpriced
        summary.blackouts += batch.blackouts
        summary.redactions += batch.redactions
        summary.duration_s = time.perf_counter() - clock
        memory.release_freed()  # the batch's tables: a long run's resident size stays flat
        if on_batch:
            on_batch(summary)

    def keyed(batches: Iterable[pa.Table]) -> Iterator[tuple[pa.Table, pa.Table | None]]:
        """Each batch with its records' keys, parsed on a thread of their own while the batch
        before is looked up in the lake and the batch after is read."""
        with closing(read_ahead(batches)) as reading:
            for raw in reading:
                yield raw, normalizers.keys(raw) if prefilter else None

    in_flight: deque[tuple[int, int, int, Future[NormalizedBatch]]] = deque()
    source_failure: Exception | None = None
    next_file: warehouse.NextFile | None = None
    try:
        reading = read_ahead(keyed(batches))
        for seq in itertools.count(1):
            try:
                raw, keys = next(reading)
            except StopIteration:
                break
            except Exception as exc:  # the source failed: what it gave so far still lands
                source_failure = exc
                break
            new = raw.filter(~lake.known(keys)) if keys is not None else raw
            in_flight.append((seq, raw.num_rows, raw.num_rows - new.num_rows, normalizers.submit(new)))
            if len(in_flight) >= normalizers.workers:  # the next batch normalizes while one loads
                load(*in_flight.popleft())
        while in_flight:
            load(*in_flight.popleft())
        if source_failure is not None:
            raise source_failure
        lake.compact(settings.compact_min_files, lake.touched)
        # What loading held (the normalizers' connections, the lake's span ids and traces) goes
        # before the rollups read the days back.
        normalizers.close()
        lake.close()
        memory.release_freed()
        retention.drop_expired(settings, datetime.now(timezone.utc).date())  # [lens] retention_days
        next_file = warehouse.NextFile(settings)  # copied while the rollups are computed
        rollups.refresh_stale(settings)
        summary.status = "ok"
    except KeyboardInterrupt:
        summary.status = "interrupted"
        raise
    except Exception as exc:
        summary.status = "error"
        summary.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise
    finally:
        summary.duration_s = time.perf_counter() - clock
        normalizers.close()
        lake.close()
        ledger.write_run(settings.runs_dir, summary.row())
        # to the lake URL, when there is one: after the run's own record, so readers see it done
        if summary.status == "ok":
            warehouse.build(settings, publish=True, next_file=next_file)
        else:
            _build_after_failure(settings, next_file)
    alerts.evaluate_after_ingest(settings)  # logs a failure, never raises
    return summary
