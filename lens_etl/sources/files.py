"""Export files (JSONL, JSON, Parquet, CSV; gzip too) -> bounded batches of raw records.

Each record keeps where it came from (file, line or row) so a dead letter can point at it.
JSONL, CSV and Parquet stream in bounded batches; a JSON document (Phoenix REST page,
OTLP/JSON, an array) is one page of an API and is read whole.
"""
from __future__ import annotations

import codecs
import csv
import functools
import gzip
import io
import json
import mmap
import os
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputFileError
from .otlp import MalformedOtlp, otlp_records
from .pyrepr import reprs_as_json
from .raw import raw_arrays, raw_table, row_docs, rows_as_json, without_nan

Progress = Callable[[int], None]
Buffer = bytes | bytearray | mmap.mmap
ROWS_PER_BATCH = 50_000
SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv")
BOM = codecs.BOM_UTF8
# What a damaged compressed file raises while it is read (a truncated one: EOFError).
CORRUPT_STREAM = (OSError, EOFError, zlib.error)


def _noop(_: int) -> None:
    return None


def layout_of(path: Path) -> str:
    """The file's layout from its name: jsonl, json, parquet or csv (gzip allowed)."""
    name = path.name.lower().removesuffix(".gz")
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return {".ndjson": "jsonl"}.get(suffix, suffix[1:])
    raise InputFileError(f"{path}: unknown file type (expected {', '.join(SUFFIXES)}, optionally .gz)")


def _read_failure(path: Path, exc: BaseException, where: str, records: int) -> InputFileError:
    """One line for a file that stops being readable part way: what it gave so far still lands."""
    gzip_damage = isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile))
    reason = f"gzip data corrupt or truncated ({exc})" if gzip_damage else str(exc)
    if not records:
        return InputFileError(f"{path}: cannot read: {reason}")
    return InputFileError(f"{path}: cannot read after {where}: {reason}; the {records:,} records before it are loaded")


def _duplicated_column(path: Path, names: list[str]) -> None:
    """A record cannot hold two values under one name: say which name, not how DuckDB fails."""
    twice = [name for name, count in Counter(names).items() if count > 1]
    if twice:
        raise InputFileError(f"{path}: column {twice[0]!r} appears more than once")


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open_binary(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """The stream to read, and the raw file whose position measures progress."""
    raw = path.open("rb")
    return (gzip.GzipFile(fileobj=raw) if _is_gzip(path) else raw), raw


WHITESPACE = np.array([9, 10, 13, 32], dtype=np.uint8)


def _newlines(text: Buffer, start: int, end: int) -> np.ndarray:
    """Offsets of every newline in text[start:end], from start, memchr from one to the next in
    place: on lines of JSON twice as fast as numpy's compare-then-scan, which builds a mask as large
    as the block."""
    found = []
    at = text.find(b"\n", start, end)
    while at != -1:
        found.append(at)
        at = text.find(b"\n", at + 1, end)
    return np.array(found, dtype=np.int64) - start


def _lines_table(name: str, buffer: Buffer, start: int, end: int, first_line: int) -> tuple[pa.Table, int]:
    """The lines in buffer[start:end] as one string per line, without copying them: the Arrow array
    points into the buffer at each line's start (a line keeps its newline; JSON ignores it). Blank
    lines are not records; invalid UTF-8 is replaced, as a text reader would. Also: how many lines."""
    block = memoryview(buffer)[start:end]
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate(([0], _newlines(buffer, start, end) + 1))
    offsets = np.append(starts, len(data)).astype(np.int64 if len(data) >= 2**31 else np.int32)
    kind = pa.LargeStringArray if len(data) >= 2**31 else pa.StringArray
    lines = kind.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        lines.validate(full=True)  # UTF-8 checked in place
    except pa.ArrowInvalid:
        text = bytes(block).decode("utf-8", errors="replace").encode("utf-8")
        return _lines_table(name, text, 0, len(text), first_line)
    keep = starts < len(data)  # a trailing newline leaves an empty last line
    first_bytes = data[np.minimum(starts, len(data) - 1)] if len(data) else np.zeros(len(starts), np.uint8)
    for i in np.flatnonzero(keep & np.isin(first_bytes, WHITESPACE)):  # rare: a line that starts with whitespace
        keep[i] = bool(bytes(data[offsets[i]:offsets[i + 1]]).strip(b" \t\r\n"))
    numbers = pa.array(np.arange(first_line, first_line + len(starts), dtype=np.int64))
    if not keep.all():
        mask = pa.array(keep)
        numbers, lines = numbers.filter(mask), lines.filter(mask)
    return raw_arrays(name, numbers, lines.cast(pa.string())), len(starts)


def _mapped_blocks(handle: IO[bytes], batch_bytes: int) -> Iterator[tuple[mmap.mmap, int, int, int]]:
    """A plain file's whole lines in blocks of about `batch_bytes`, each a window of the file
    mapped from the page cache: (window, start, end, file offset of end). Reading into fresh
    buffers cost as much as parsing a re-ingest's keys (the kernel zeroes every new page, then the
    read copies into it). A window is unmapped once no batch points into it. (A file truncated
    while it is read ends the process; exports are written once, not rewritten in place.)"""
    size = os.fstat(handle.fileno()).st_size
    position = 0
    while position < size:
        base = position - position % mmap.ALLOCATIONGRANULARITY
        want = batch_bytes
        while True:
            length = min(size - base, position - base + want)
            window = mmap.mmap(handle.fileno(), length, access=mmap.ACCESS_READ, offset=base)
            last = base + length == size
            cut = window.rfind(b"\n", position - base, length)
            if cut >= 0 or last:
                break
            window.close()
            want *= 2  # one line longer than a block
        end = (length - 1 if window[length - 1:length] == b"\n" else length) if last else cut
        yield window, position - base, end, base + end
        position = base + end + 1


def _read_blocks(stream: IO[bytes], raw: IO[bytes], batch_bytes: int) -> Iterator[tuple[bytearray, int, int, int]]:
    """A compressed file's whole lines in blocks of about `batch_bytes`, each read into a buffer of
    its own that its batch's strings point into: (buffer, 0, end, bytes of the file read so far)."""
    carry = b""
    while True:
        buffer = bytearray(len(carry) + batch_bytes)
        buffer[:len(carry)] = carry
        got = stream.readinto(memoryview(buffer)[len(carry):])
        end = len(carry) + got
        if not end:
            return
        cut = buffer.rfind(b"\n", 0, end) if got else end
        if cut < 0:  # one line longer than a chunk: keep reading
            carry = bytes(buffer[:end])
            continue
        carry = bytes(buffer[cut + 1:end])
        yield buffer, 0, cut, raw.tell()
        if not got:
            return


def read_jsonl(path: Path, batch_bytes: int, progress: Progress = _noop) -> Iterator[pa.Table]:
    """Newline-delimited JSON in chunks of about `batch_bytes`; blank lines are not records. The
    batches' strings point into the file's mapped pages, or for gzip into the decompressed chunk.
    A line holding an OTLP request (the collector's file exporter) becomes one record per span."""
    stream, raw = _open_binary(path)
    name = str(path)
    line_no = 1
    records = 0
    try:
        blocks = _mapped_blocks(raw, batch_bytes) if stream is raw else _read_blocks(stream, raw, batch_bytes)
        for buffer, start, end, done in blocks:
            if line_no == 1 and buffer[start:start + len(BOM)] == BOM:
                start += len(BOM)  # a byte-order mark is not part of the first record
            table, lines = _lines_table(name, buffer, start, end, line_no)
            table = _expand_otlp_lines(table)
            line_no += lines
            if table.num_rows:
                records += table.num_rows
                yield table
            progress(done)
    except CORRUPT_STREAM as exc:
        raise _read_failure(path, exc, f"line {line_no - 1}", records) from exc
    finally:
        stream.close()
        raw.close()


OTLP_MARKER = '"resourceSpans"'
# An OTLP request's one field opens its line: only a line's head is searched (every line's whole
# text took 3 s a million spans, and the batch's bytes 0.5 s; its heads take 0.1 s).
OTLP_HEAD_BYTES = 48


def _expand_otlp_lines(table: pa.Table) -> pa.Table:
    """Each line that is an OTLP request replaced by its spans, which keep the line's number."""
    hits = pc.match_substring(pc.binary_slice(table["doc"].cast(pa.binary()), 0, OTLP_HEAD_BYTES), OTLP_MARKER)
    if not pc.any(hits).as_py():
        return table
    pieces, done = [], 0
    for i in map(int, np.flatnonzero(hits.to_numpy(zero_copy_only=False))):
        text = table["doc"][i].as_py()
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            continue  # not JSON: the normalizer says so
        if not (isinstance(document, dict) and "resourceSpans" in document):
            continue  # a span that mentions the word
        spans = _otlp_request(table["source_file"][i].as_py(), table["line"][i].as_py(), text, document)
        pieces += [table.slice(done, i - done), spans]
        done = i + 1
    return pa.concat_tables([*pieces, table.slice(done)])


def _otlp_request(source_file: str, line: int, text: str, document: dict[str, Any]) -> pa.Table:
    """One OTLP request's spans as records of one line; an unusable request is one dead letter."""
    try:
        records = list(otlp_records(document))
    except MalformedOtlp as exc:
        return raw_table(source_file, [line], [text], [f"malformed OTLP: {exc}"])
    return raw_table(source_file, [line] * len(records), [_json_text(r.record) for r in records],
                     [r.problem for r in records])


def _json_text(record: Any) -> str:
    return json.dumps(record, default=str)


def _records_of(document: Any, path: Path) -> tuple[list[str], list[str | None]]:
    """A JSON document's records as JSON texts, and why a record cannot be read, if it cannot."""
    if isinstance(document, dict) and "resourceSpans" in document:
        try:
            records = list(otlp_records(document))
        except MalformedOtlp as exc:
            raise InputFileError(f"{path}: not an OTLP/JSON request: {exc}") from exc
        return [_json_text(r.record) for r in records], [r.problem for r in records]
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise InputFileError(f"{path}: a JSON document must be an object or an array of spans")
    return [r if isinstance(r, str) else _json_text(r) for r in document], [None] * len(document)


def _read_whole(path: Path) -> bytes:
    stream, raw = _open_binary(path)
    try:
        return stream.read()
    except CORRUPT_STREAM as exc:
        raise _read_failure(path, exc, "the start", 0) from exc
    finally:
        stream.close()
        raw.close()


FIRST_TEXT = re.compile(r"\S")


def _first_line_is_object(text: str) -> bool:
    """True for JSON Lines: the first line that is not blank is a JSON object on its own."""
    found = FIRST_TEXT.search(text)
    if found is None or found.group() != "{":
        return False
    end = text.find("\n", found.start())
    try:
        return isinstance(json.loads(text[found.start():end if end >= 0 else None]), dict)
    except (ValueError, RecursionError):
        return False


def _where_json_fails(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"


def read_json_document(path: Path, batch_bytes: int, progress: Progress = _noop) -> Iterator[pa.Table]:
    """A whole JSON document: an array, a Phoenix REST page {"data": […]}, or OTLP/JSON. A file
    whose first line is a JSON object on its own is JSON Lines, whatever its name says; any other
    file that does not parse is one error naming the line and column."""
    text = _read_whole(path).decode("utf-8-sig", errors="replace")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        if _first_line_is_object(text):
            yield from read_jsonl(path, batch_bytes, progress)
            return
        raise InputFileError(f"{path}: not valid JSON {_where_json_fails(exc)}") from exc
    docs, problems = _records_of(document, path)
    name = str(path)
    for start in range(0, len(docs), ROWS_PER_BATCH):
        end = min(start + ROWS_PER_BATCH, len(docs))
        yield raw_table(name, list(range(start + 1, end + 1)), docs[start:end], problems[start:end])
    progress(path.stat().st_size)


def read_parquet(path: Path, batch_bytes: int, progress: Progress = _noop) -> Iterator[pa.Table]:
    """Parquet exports (Phoenix span dataframes, Arize export_to_parquet) in row batches."""
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file: {exc}") from exc
    _duplicated_column(path, parquet.schema_arrow.names)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    row = 1
    try:
        for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH):
            yield rows_as_json(without_nan(batch), str(path), row, con)
            row += batch.num_rows
            progress(int(path.stat().st_size * min(1.0, row / max(parquet.metadata.num_rows, 1))))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputFileError(f"{path}: cannot read row {row}: {exc}") from exc
    finally:
        con.close()


class _Utf8Replacing(io.RawIOBase):
    """A byte stream whose invalid UTF-8 is replaced (U+FFFD) and whose byte-order mark is dropped,
    as JSON Lines are read: one bad byte costs one character, not the whole file."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._stream.read(len(buffer))
            self._pending = memoryview(self._cleaned(chunk))
            if not chunk:
                break
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _cleaned(self, chunk: bytes) -> bytes:
        if chunk.isascii() and self._decoder.getstate() == (b"", 0):  # past the start, between characters
            return chunk
        return self._decoder.decode(chunk, final=not chunk).encode("utf-8")


def _csv_header(path: Path) -> list[str]:
    stream, raw = _open_binary(path)
    try:
        first = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace").readline()
    except CORRUPT_STREAM as exc:
        raise _read_failure(path, exc, "the start", 0) from exc
    finally:
        stream.close()
        raw.close()
    header = next(csv.reader([first]), [])
    if not any(name.strip() for name in header):
        raise InputFileError(f"{path}: empty CSV file (no header row)")
    _duplicated_column(path, header)
    return header


class _CsvLines:
    """The file line of every CSV row. pyarrow numbers rows, not lines (a quoted value may hold
    newlines), and reports rejected rows as it parses, ahead of the batch they sit among: rows are
    placed by those numbers, and each row's lines counted from its newlines."""

    def __init__(self) -> None:
        self.rejected: list[Any] = []  # pyarrow's InvalidRow, reported and not yet placed
        self._next_row = 2  # pyarrow's number for the first row after the header
        self._next_line = 2

    def on_invalid(self, row: Any) -> str:
        self.rejected.append(row)
        return "skip"

    def place(self, newlines: np.ndarray, final: bool = False) -> tuple[np.ndarray, list[tuple[int, Any]]]:
        """The line of each of a batch's rows (given how many newlines each holds), and the
        rejected rows before the batch's last row (every one left, when `final`) with their line."""
        numbers = np.array(sorted(r.number for r in self.rejected), dtype=np.int64)
        rows = np.arange(self._next_row, self._next_row + len(newlines) + len(numbers))
        valid = rows[~np.isin(rows, numbers)][:len(newlines)]
        end = int(valid[-1]) if len(valid) else self._next_row - 1
        if final and len(numbers):
            end = max(end, int(numbers[-1]))
        placed = sorted((r for r in self.rejected if r.number <= end), key=lambda r: r.number)
        self.rejected = [r for r in self.rejected if r.number > end]
        first = self._next_row
        heights = np.ones(end - first + 1, dtype=np.int64)
        heights[valid - first] += newlines
        for row in placed:
            heights[row.number - first] += row.text.count("\n")
        starts = self._next_line + np.cumsum(heights) - heights
        self._next_row, self._next_line = end + 1, self._next_line + int(heights.sum())
        return starts[valid - first], [(int(starts[r.number - first]), r) for r in placed]

    @property
    def last_line(self) -> int:
        return self._next_line - 1


def _newlines_per_row(batch: pa.RecordBatch) -> np.ndarray:
    """How many newlines each row's values hold: found in the columns' character data (most hold
    none), then counted per row through the offsets."""
    total = np.zeros(batch.num_rows, dtype=np.int64)
    for column in batch.columns:
        _, offsets, data = column.buffers()
        if data is None:
            continue
        bounds = np.frombuffer(offsets, dtype=np.int32)[column.offset:column.offset + len(column) + 1]
        chars = np.frombuffer(data, dtype=np.uint8)[bounds[0]:bounds[-1]]
        found = np.flatnonzero(chars == 10) + bounds[0]
        if len(found):
            total += np.bincount(np.searchsorted(bounds, found, side="right") - 1, minlength=len(column))
    return total


def _empty_rows(batch: pa.RecordBatch) -> np.ndarray:
    """Rows with no value at all (blank lines): not records."""
    nulls = [pc.is_null(column) for column in batch.columns]
    return functools.reduce(pc.and_, nulls).to_numpy(zero_copy_only=False) if nulls else np.ones(batch.num_rows, bool)


def _rejected_table(source_file: str, placed: list[tuple[int, Any]]) -> pa.Table:
    return raw_table(
        source_file,
        [line for line, _ in placed],
        [row.text for _, row in placed],
        [f"malformed CSV row: {row.actual_columns} cells, the header has {row.expected_columns}" for _, row in placed],
    )


def _csv_records(batch: pa.RecordBatch, source_file: str, lines: _CsvLines,
                 con: duckdb.DuckDBPyConnection) -> Iterator[pa.Table]:
    """A parsed CSV batch, and the rows rejected before its end, as raw records in file order."""
    numbers, placed = lines.place(_newlines_per_row(batch))
    if placed:
        yield _rejected_table(source_file, placed)
    keep = ~_empty_rows(batch)
    table = reprs_as_json(pa.Table.from_batches([batch]).filter(pa.array(keep)))
    if table.num_rows:
        yield raw_arrays(source_file, pa.array(numbers[keep], pa.int64()), row_docs(table, con))


def read_csv(path: Path, batch_bytes: int, progress: Progress = _noop) -> Iterator[pa.Table]:
    """CSV with a header of flat dotted column names; every cell read as text, typed later. Rows
    keep their file line; invalid UTF-8 is replaced, as in JSON Lines."""
    names = _csv_header(path)
    lines = _CsvLines()
    stream, raw = _open_binary(path)
    con = duckdb.connect()
    records = 0
    try:
        reader = pacsv.open_csv(
            _Utf8Replacing(stream),
            # one thread: pyarrow numbers rejected rows only when it parses in order
            read_options=pacsv.ReadOptions(block_size=min(batch_bytes, 16 * 1024 * 1024), use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=lines.on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True),
        )
        for batch in reader:
            for table in _csv_records(batch, str(path), lines, con):
                records += table.num_rows
                yield table
            progress(raw.tell())
        _, placed = lines.place(np.zeros(0, np.int64), final=True)
        if placed:
            yield _rejected_table(str(path), placed)
    except CORRUPT_STREAM as exc:
        raise _read_failure(path, exc, f"line {lines.last_line}", records) from exc
    except pa.ArrowInvalid as exc:
        raise InputFileError(f"{path}: cannot read CSV after line {lines.last_line}: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
        stream.close()
        raw.close()


READERS = {"jsonl": read_jsonl, "json": read_json_document, "parquet": read_parquet, "csv": read_csv}


def check_file(path: Path) -> None:
    """Fail early, with the file's name, on anything we cannot read at all."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if not path.is_file():
        raise InputFileError(f"{path}: not a file")
    layout_of(path)


def read_files(paths: list[Path], batch_bytes: int, progress: Progress = _noop) -> Iterator[pa.Table]:
    """Every file in turn; progress counts bytes over all of them."""
    for path in paths:
        check_file(path)
    done = 0
    for path in paths:
        reader = READERS[layout_of(path)]
        yield from reader(path, batch_bytes, lambda n, base=done: progress(base + n))
        done += path.stat().st_size
        progress(done)
