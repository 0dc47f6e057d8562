"""Raw record batches -> canonical span batches + dead letters, in SQL, one pass per batch.

Pure with respect to the lake: it reads an Arrow batch of raw JSON records and returns
Arrow tables; the load stage decides what is new. Business rules live in sql/normalize/.
"""
from __future__ import annotations

import json
import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import fields, pricing, redact
from .identity import Identity
from .schema import DEAD_LETTER_SCHEMA, SPAN_COLUMNS, SPAN_SCHEMA

SQL_DIR = Path(__file__).resolve().parent.parent / "sql" / "normalize"


@dataclass(frozen=True)
class NormalizeContext:
    """What every batch of one ingest run shares."""

    run_id: str
    source: str
    project: str
    ingested_at: datetime
    identity: Identity
    preview_chars: int = 2000
    max_record_bytes: int = 64 * 1024 * 1024
    redaction: tuple[redact.Pattern, ...] | None = None  # None: every built-in pattern


@dataclass(frozen=True)
class NormalizedBatch:
    spans: pa.Table
    dead_letters: pa.Table
    unpriced: int
    blackouts: int
    redactions: int


def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def fields_view_sql(nested: bool, values: dict[str, object]) -> str:
    """The `fields` view for one layout family (flat only, or every layout), with `values` and the
    struct records are parsed into written in as literals (a view takes no parameters)."""
    structure, accessors = fields.record_structure(nested)
    columns = ",\n    ".join(f"coalesce({', '.join(paths)}) AS {field}_raw" for field, paths in accessors.items())
    sql = _sql("10_fields.sql").replace("{record_fields}", columns)
    patches = {"content_patch": fields.content_patch(nested=nested),
               "value_patch": fields.content_patch(messages=False, nested=nested),
               "derived_patch": fields.derived_patch(nested=nested)}
    for name, patch in patches.items():
        sql = sql.replace(f"${name}", _patch_sql(patch, nested))
    for name, value in {**values, "structure": json.dumps(structure)}.items():
        sql = sql.replace(f"${name}", _literal(value))
    return sql


def _patch_sql(patch: dict, nested: bool) -> str:
    """The merge patch a record gets, as SQL. In the nested layouts, only the parts for objects the
    record holds: a merge patch adds every object it names (a flat record gained empty `context`,
    `status` and `attributes` in its metadata) and turns any other value there into one."""
    if not nested:
        return _literal(json.dumps(patch))
    cases = []
    for held in range(1 << len(fields.OBJECT_KEYS)):
        kept = {key for bit, key in enumerate(fields.OBJECT_KEYS) if held >> bit & 1}
        variant = json.dumps({k: v for k, v in patch.items() if k not in fields.OBJECT_KEYS or k in kept})
        cases.append(f"WHEN {held} THEN {_literal(variant)}")
    held = " + ".join(f"{1 << bit} * CAST(v['{key}'] IS NOT NULL AS INTEGER)" for bit, key in enumerate(fields.OBJECT_KEYS))
    return f"CASE {held} {' '.join(cases)} END"  # a CASE: a list of the patches would be built for every record


def _literal(value: object) -> str:
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def _empty_batch() -> NormalizedBatch:
    return NormalizedBatch(SPAN_SCHEMA.empty_table(), DEAD_LETTER_SCHEMA.empty_table(), 0, 0, 0)


class Normalizer:
    """Holds one in-memory DuckDB connection with the macros, identity and price cache."""

    def __init__(self, context: NormalizeContext, threads: int | None = None) -> None:
        self.context = context
        self.con = duckdb.connect(config={"threads": threads} if threads else {})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(_sql("00_macros.sql"))
        self.con.execute(redact.macro_sql("lens_redact_secrets", redact.active(context.redaction, ("secret",))))
        self.con.execute(redact.macro_sql("lens_redact_all", redact.active(context.redaction, ("secret", "pii"))))
        self.con.register("identity", context.identity.to_arrow())
        values = {**self._params(("max_record_bytes",)), "message_marker": fields.MESSAGE_MARKER}
        self._flat_fields = fields_view_sql(False, values)
        self._any_fields = fields_view_sql(True, values)
        self._keys_sql = _sql("05_keys.sql")
        self._parsed_sql = _sql("20_parsed.sql")
        self._spans_sql = _sql("30_spans.sql")
        self._dead_sql = _sql("40_dead_letters.sql")

    def close(self) -> None:
        self.con.close()

    def _params(self, names: tuple[str, ...]) -> dict[str, object]:
        ctx = self.context
        values: dict[str, object] = {
            "run_id": ctx.run_id,
            "source": ctx.source,
            "project": ctx.project,
            "ingested_at": ctx.ingested_at.replace(tzinfo=None),
            "preview_chars": ctx.preview_chars,
            "max_record_bytes": ctx.max_record_bytes,
        }
        return {name: values[name] for name in names}

    def keys(self, raw: pa.Table) -> pa.Table:
        """(span_id, event_date) of each raw record, in order; cheap: two fields parsed."""
        self.con.register("raw", pa.Table.from_batches(raw.to_batches(max_chunksize=8192), schema=raw.schema))
        try:
            return self.con.execute(self._keys_sql).to_arrow_table()
        finally:
            self.con.unregister("raw")

    def _dead_letters(self) -> pa.Table:
        """The batch's rejected records; most batches have none, and then the join that reads
        their raw text back is not worth running."""
        if not self.con.execute("SELECT count(reject_reason) FROM parsed").fetchone()[0]:
            return pa.Table.from_pylist([], schema=DEAD_LETTER_SCHEMA.append(pa.field("_redacted", pa.bool_())))
        return self.con.execute(self._dead_sql, self._params(("run_id", "ingested_at"))).to_arrow_table()

    def normalize(self, raw: pa.Table) -> NormalizedBatch:
        """One raw batch (source_file, line, doc) -> spans and dead letters. A batch the SQL
        cannot take (a record no rule foresaw) is halved until the records at fault are alone:
        they become dead letters with the error, and the rest of the batch still lands."""
        if raw.num_rows == 0:  # every record was in the lake already
            return _empty_batch()
        try:
            return self._normalize_batch(raw)
        except duckdb.Error as exc:
            if raw.num_rows == 1:
                return self._unnormalizable(raw, exc)
            half = raw.num_rows // 2
            return _joined(self.normalize(raw.slice(0, half)), self.normalize(raw.slice(half)))

    def _unnormalizable(self, raw: pa.Table, exc: duckdb.Error) -> NormalizedBatch:
        """The one record of `raw` as a dead letter: what DuckDB said, and the record redacted."""
        doc = (raw["doc"][0].as_py() or "").rstrip("\r\n")
        redacted = self.con.execute("SELECT lens_redact_all(?)", [doc]).fetchone()[0]
        reason = "cannot normalize: " + (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
        dead = pa.Table.from_pylist([{
            "run_id": self.context.run_id, "source_file": raw["source_file"][0].as_py(), "line": raw["line"][0].as_py(),
            "reason": reason, "raw": redacted, "recorded_at": self.context.ingested_at.replace(tzinfo=None),
        }], schema=DEAD_LETTER_SCHEMA)
        return NormalizedBatch(SPAN_SCHEMA.empty_table(), dead, 0, 0, int(redacted != doc))

    def _normalize_batch(self, raw: pa.Table) -> NormalizedBatch:
        con = self.con
        raw, nested = _layout(raw)
        # Small record batches let DuckDB spread one batch over every thread.
        con.register("raw", pa.Table.from_batches(raw.to_batches(max_chunksize=8192), schema=raw.schema))
        try:
            con.execute(self._any_fields if nested else self._flat_fields)
            con.execute(self._parsed_sql)
            models = con.execute(
                "SELECT DISTINCT model_raw, nullif(lower(trim(provider_raw)), '') FROM parsed "
                "WHERE reject_reason IS NULL AND model_raw IS NOT NULL"
            ).fetchall()
            con.register("rates", pricing.rates_table(models))
            spans = con.execute(
                self._spans_sql, self._params(("run_id", "ingested_at", "source", "project", "preview_chars"))
            ).to_arrow_table()
            dead = self._dead_letters()
        finally:
            con.unregister("raw")
        unpriced = pc.sum(pc.equal(spans["price_status"], "unknown_model")).as_py() or 0
        blackouts = pc.sum(spans["_blackout"]).as_py() or 0
        redactions = (pc.sum(spans["_redacted"]).as_py() or 0) + (pc.sum(dead["_redacted"]).as_py() or 0)
        return NormalizedBatch(
            spans=spans.select(SPAN_COLUMNS).cast(SPAN_SCHEMA),
            dead_letters=dead.drop_columns(["_redacted"]).cast(DEAD_LETTER_SCHEMA),
            unpriced=int(unpriced),
            blackouts=int(blackouts),
            redactions=int(redactions),
        )


def _layout(raw: pa.Table) -> tuple[pa.Table, bool]:
    """`raw` with `parse_doc`, the text to read each record from, and whether the batch needs the
    nested layout's fields. `parse_doc` is NULL but for a record whose attributes are packed in one
    JSON string or nested key by key (see fields.unpacked): only such rare records pay for a parse in
    Python, and their own text stays in `doc` for a dead letter. One pattern finds both kinds of
    record, so a batch of flat records costs one scan."""
    parse_docs = pa.nulls(raw.num_rows, pa.string())
    either = pc.match_substring_regex(raw["doc"], f"{fields.NESTED_MARKER}|{fields.PACKED_MARKER}")
    nested = bool(pc.any(either).as_py())
    if nested:
        rows = np.flatnonzero(pc.fill_null(either, False).to_numpy(zero_copy_only=False))
        packed = pc.match_substring_regex(raw["doc"].take(rows), fields.PACKED_MARKER).to_numpy(zero_copy_only=False)
        texts: list[str | None] = [None] * raw.num_rows
        for row in rows[packed]:
            texts[row] = fields.unpacked(raw["doc"][int(row)].as_py())
        parse_docs = pa.array(texts, pa.string())
    return raw.append_column("parse_doc", parse_docs), nested


def _joined(first: NormalizedBatch, second: NormalizedBatch) -> NormalizedBatch:
    """Two parts of one batch as one, in order."""
    return NormalizedBatch(
        spans=pa.concat_tables([first.spans, second.spans]),
        dead_letters=pa.concat_tables([first.dead_letters, second.dead_letters]),
        unpriced=first.unpriced + second.unpriced,
        blackouts=first.blackouts + second.blackouts,
        redactions=first.redactions + second.redactions,
    )


# A batch's queries use two cores poorly (small tables, one row group): batches are normalized
# side by side instead, each on a connection of its own with one thread.
WORKERS = max(1, min(2, os.cpu_count() or 1))


class NormalizerPool:
    """Several normalizers, each on its own connection; `submit` hands a batch to a free one.
    Each is made when first needed: a re-ingest of spans the lake holds needs none of them."""

    def __init__(self, context: NormalizeContext, workers: int = WORKERS) -> None:
        self.workers = workers
        self.context = context
        self._keyer: Normalizer | None = None
        self._free: queue.SimpleQueue[Normalizer | None] = queue.SimpleQueue()
        self._all: list[Normalizer] = []
        for _ in range(workers):
            self._free.put(None)  # a place for one, made by the first batch that takes it
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="normalize")

    def keys(self, raw: pa.Table) -> pa.Table:
        """The cheap key parse before dedupe, on a connection of its own (called from one thread)."""
        if self._keyer is None:
            self._keyer = self._made(Normalizer(self.context))
        return self._keyer.keys(raw)

    def _made(self, normalizer: Normalizer) -> Normalizer:
        with self._lock:
            self._all.append(normalizer)
        return normalizer

    def _run(self, raw: pa.Table) -> NormalizedBatch:
        if raw.num_rows == 0:  # every record was in the lake already
            return _empty_batch()
        normalizer = self._free.get()
        try:
            if normalizer is None:
                normalizer = self._made(Normalizer(self.context, threads=1))
            return normalizer.normalize(raw)
        finally:
            self._free.put(normalizer)

    def submit(self, raw: pa.Table) -> Future[NormalizedBatch]:
        return self._pool.submit(self._run, raw)

    def close(self) -> None:
        """Their connections go, with the memory they hold; a second call does nothing."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        closing, self._all = self._all, []
        for normalizer in closing:
            normalizer.close()
