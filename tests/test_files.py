"""Readers: every export layout becomes raw records that remember their file and line."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from hypothesis import given, settings, strategies as st
import pytest

from lens_etl.errors import InputFileError
from lens_etl.schema import RAW_SCHEMA
from lens_etl.sources.files import _newlines, layout_of, read_csv, read_files, read_jsonl

from etl_helpers import fixture, normalize_raw


def read_all(*paths: Path) -> pa.Table:
    return pa.concat_tables(list(read_files(list(paths), 1 << 20)))


def test_jsonl_records_keep_their_line_numbers_and_skip_blank_lines() -> None:
    raw = read_all(fixture("arize_flat.jsonl"))
    assert raw.column("line").to_pylist() == [1, 2, 3, 4, 5, 7, 8]
    assert set(raw.column("source_file").to_pylist()) == {str(fixture("arize_flat.jsonl"))}


def test_gzip_jsonl_reads_like_plain_jsonl() -> None:
    # a record keeps its line ending (the reader does not copy lines); the last line may have none
    plain = [doc.rstrip("\r\n") for doc in read_all(fixture("arize_flat.jsonl")).column("doc").to_pylist()[:5]]
    zipped = [doc.rstrip("\r\n") for doc in read_all(fixture("arize_flat.jsonl.gz")).column("doc").to_pylist()]
    assert zipped == plain


def test_jsonl_streams_in_bounded_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = json.dumps({"context.span_id": "x" * 10, "pad": "y" * 1000})
    path.write_text("\n".join([line] * 5000) + "\n")
    batches = list(read_jsonl(path, batch_bytes=64 * 1024))
    assert len(batches) > 50
    assert max(b.nbytes for b in batches) < 200 * 1024
    assert sum(b.num_rows for b in batches) == 5000
    assert batches[-1].column("line").to_pylist()[-1] == 5000


def test_phoenix_rest_page_yields_each_span() -> None:
    raw = read_all(fixture("phoenix_rest.json"))
    docs = [json.loads(d) for d in raw.column("doc").to_pylist()]
    assert [d["context"]["span_id"] for d in docs] == ["b000000000000001", "b000000000000002"]


def test_otlp_json_is_unwrapped_to_records_with_resource_attributes() -> None:
    raw = read_all(fixture("otlp.json"))
    docs = [json.loads(d) for d in raw.column("doc").to_pylist()]
    assert docs[0]["attributes"]["llm.token_count.prompt"] == 1200
    assert docs[0]["resource.attributes.service.name"] == "claude-code"
    assert docs[1]["status_code"] == "ERROR" and docs[1]["parent_id"] == "c000000000000001"


def test_parquet_rows_become_json_with_nan_as_null() -> None:
    raw = read_all(fixture("phoenix_df.parquet"))
    second = json.loads(raw.column("doc").to_pylist()[1])
    assert second["attributes.llm.token_count.prompt"] is None
    assert raw.column("line").to_pylist() == [1, 2]


def test_csv_reads_every_cell_as_text_and_flags_short_rows() -> None:
    raw = read_all(fixture("spans.csv"))
    problems = [p for p in raw.column("problem").to_pylist() if p]
    assert len(problems) == 1 and "malformed CSV row" in problems[0]
    assert raw.column("line").to_pylist() == [2, 3, 4, 5]
    first = json.loads(raw.column("doc").to_pylist()[0])
    assert first["attributes.llm.token_count.prompt"] == "1000"


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.jsonl", "no such file"), ("spans.txt", "unknown file type")],
)
def test_bad_paths_fail_with_one_line_naming_the_file(tmp_path: Path, name: str, message: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("x")
    with pytest.raises(InputFileError, match=message) as info:
        read_all(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    data = gzip.compress(("{}\n" * 10000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="cannot read"):
        read_all(path)


def test_layout_is_known_from_the_name() -> None:
    assert layout_of(Path("x.ndjson.gz")) == "jsonl"
    assert layout_of(Path("x.CSV")) == "csv"


@given(st.lists(st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40),
                          st.sampled_from(["", "  ", "\t", " {}", "\x0b", " \x0c ", "{\"a\": \"é✓\"}"]),
                          st.integers(60, 9000).map(lambda n: "{" + "x" * n + "}")), max_size=30),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
@settings(max_examples=200, deadline=None)
def test_lines_become_records_numbered_as_in_the_file(tmp_path_factory, lines: list[str], ending: str, last_newline: bool,
                                                     zipped: bool) -> None:
    # plain files are read through mapped windows of the file, gzip through buffers; blocks of 64
    # bytes put block edges everywhere, and some lines are longer than a block (or a page)
    path = tmp_path_factory.mktemp("lines") / ("export.jsonl.gz" if zipped else "export.jsonl")
    data = (ending.join(lines) + (ending if last_newline and lines else "")).encode("utf-8")
    path.write_bytes(gzip.compress(data) if zipped else data)
    batches = list(read_jsonl(path, batch_bytes=64))
    raw = pa.concat_tables(batches) if batches else None
    expected = [(n, line) for n, line in enumerate(lines, start=1) if line.strip(" \t")]  # blank: spaces and tabs only
    got = [] if raw is None else list(zip(raw.column("line").to_pylist(),
                                          (d.rstrip("\r\n") for d in raw.column("doc").to_pylist())))
    assert got == expected


@given(st.binary(max_size=200).map(lambda b: b.replace(b"x", b"\n")), st.integers(0, 20), st.integers(0, 20))
def test_newlines_are_found_between_the_ends_of_the_block(data: bytes, head: int, tail: int) -> None:
    expected = [i for i, byte in enumerate(data) if byte == 10]
    assert _newlines(data, 0, len(data)).tolist() == expected
    buffer = bytearray(b"\n" * head + data + b"\n" * tail)  # newlines outside the block are not its own
    assert _newlines(buffer, head, head + len(data)).tolist() == expected


def write_csv_repro(path: Path, good: int = 100, bad: int = 100) -> None:
    rows = [f"id{i},1760358832941" for i in range(1, good + 1)] + [f"bad{i}" for i in range(1, bad + 1)]
    path.write_text("context.span_id,start_time\n" + "\n".join(rows) + "\n")


def test_malformed_csv_rows_are_rejected_once_each_at_their_own_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    write_csv_repro(path)
    raw = read_all(path)
    rejected = raw.filter(pc.is_valid(raw["problem"]))
    assert rejected["line"].to_pylist() == list(range(102, 202))
    assert rejected["doc"].to_pylist() == [f"bad{i}" for i in range(1, 101)]
    assert raw.filter(pc.is_null(raw["problem"]))["line"].to_pylist() == list(range(2, 102))
    batch = normalize_raw(raw)
    assert (batch.spans.num_rows, batch.dead_letters.num_rows) == (100, 100)
    assert {(d["line"], d["raw"]) for d in batch.dead_letters.to_pylist()} == {(101 + i, f"bad{i}") for i in range(1, 101)}


CSV_ROWS = st.lists(st.one_of(
    st.tuples(st.just("good"), st.integers(0, 3)),  # a span whose quoted note holds n newlines
    st.tuples(st.just("bad"), st.integers(0, 2)),  # too few cells
    st.tuples(st.just("blank"), st.just(0)),
), max_size=40)


@given(CSV_ROWS, st.sampled_from([64, 256, 1 << 20]), st.booleans())
@settings(max_examples=150, deadline=None)
def test_csv_records_keep_the_line_they_start_on(tmp_path_factory, rows: list[tuple[str, int]], block: int,
                                                 zipped: bool) -> None:
    lines, expected, line = ["context.span_id,start_time,note"], [], 2
    for i, (kind, newlines) in enumerate(rows):
        note = '"' + "\n".join(["n"] * (newlines + 1)) + '"'
        text = {"good": f"s{i},1760358832941,{note}", "bad": f"s{i},{note}", "blank": ""}[kind]
        lines.append(text)
        if kind != "blank":
            expected.append((line, kind, f"s{i}"))
        line += text.count("\n") + 1
    path = tmp_path_factory.mktemp("csv") / ("spans.csv.gz" if zipped else "spans.csv")
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if zipped else data)
    raw = pa.concat_tables([RAW_SCHEMA.empty_table(), *read_csv(path, block)])
    got = sorted((r["line"], "bad" if r["problem"] else "good", r["doc"]) for r in raw.to_pylist())
    assert [(n, kind) for n, kind, _ in got] == [(n, kind) for n, kind, _ in expected]
    assert all(doc.startswith(f"{span_id},") or f'"{span_id}"' in doc for (_, _, doc), (_, _, span_id) in zip(got, expected))


def test_a_bad_byte_in_a_csv_is_replaced_and_every_row_lands_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    rows = [f"s{i},1760358832941,ok".encode() for i in range(20_000)]
    rows[14_999] = b"s14999,1760358832941,caf\xe9"  # line 15,001
    path.write_bytes(b"context.span_id,start_time,note\n" + b"\n".join(rows) + b"\n")
    raw = read_all(path)
    assert raw.num_rows == 20_000 and raw["line"].to_pylist() == list(range(2, 20_002))
    assert json.loads(raw["doc"][14_999].as_py())["note"] == "caf\ufffd"


def test_a_byte_order_mark_does_not_rename_the_first_csv_column(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfcontext.span_id,start_time\ns1,1760358832941\n")
    assert json.loads(read_all(path)["doc"][0].as_py()) == {"context.span_id": "s1", "start_time": "1760358832941"}


def test_duplicate_csv_columns_are_one_line_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("context.span_id,context.span_id,start_time\na,b,1760358832941\n")
    with pytest.raises(InputFileError, match="'context.span_id' appears more than once") as info:
        read_all(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_duplicate_parquet_columns_are_one_line_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"]), pa.array([1760358832941])],
                                 names=["context.span_id", "context.span_id", "start_time"])
    pq.write_table(table, path)
    with pytest.raises(InputFileError, match="'context.span_id' appears more than once") as info:
        read_all(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_truncated_gzip_csv_is_one_line_and_the_rows_before_it_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    write_csv_repro(tmp_path / "f.csv", good=200_000, bad=0)
    data = gzip.compress((tmp_path / "f.csv").read_bytes())
    path.write_bytes(data[: len(data) * 3 // 4])
    got: list[pa.Table] = []
    with pytest.raises(InputFileError, match="gzip data corrupt or truncated") as info:
        got.extend(read_csv(path, 1 << 20))
    landed = sum(t.num_rows for t in got)
    assert landed > 0 and f"the {landed:,} records before it are loaded" in str(info.value)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["junk.jsonl.gz", "junk.json.gz", "junk.csv.gz"])
def test_gzip_of_random_deflate_data_is_one_line_naming_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    # a valid gzip header, then bytes that are no deflate stream
    header = gzip.compress(b"")[:10]
    path.write_bytes(header + bytes(random.Random(7).randrange(256) for _ in range(5000)))
    if name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(b"context.span_id,start_time\n")[:-8] + b"\xff" * 64)
    with pytest.raises(InputFileError, match="cannot read") as info:
        read_all(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def span_ids(raw: pa.Table) -> list[str]:
    docs = [json.loads(d) for d in raw["doc"].to_pylist()]
    return [d.get("context", {}).get("span_id") or d.get("context.span_id") for d in docs]


@pytest.mark.parametrize("indent", [None, 2])
def test_a_byte_order_mark_before_a_json_document_is_not_part_of_it(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "page.json"
    page = json.loads(fixture("phoenix_rest.json").read_text())
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(page, indent=indent).encode())
    raw = read_all(path)
    assert span_ids(raw) == ["b000000000000001", "b000000000000002"]
    assert raw["problem"].null_count == raw.num_rows


def test_a_truncated_json_document_is_one_error_naming_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    text = json.dumps(json.loads(fixture("phoenix_rest.json").read_text()), indent=2)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputFileError, match=r"not valid JSON at line \d+, column \d+") as info:
        read_all(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_json_lines_in_a_json_file_are_read_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_bytes(b"\xef\xbb\xbf" + fixture("arize_flat.jsonl").read_bytes())
    assert read_all(path)["line"].to_pylist() == read_all(fixture("arize_flat.jsonl"))["line"].to_pylist()


def test_a_byte_order_mark_does_not_spoil_the_first_json_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + fixture("arize_flat.jsonl").read_bytes())
    first = read_all(path)["doc"][0].as_py()
    assert first == read_all(fixture("arize_flat.jsonl"))["doc"][0].as_py()
    zipped = tmp_path / "bom.jsonl.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    assert read_all(zipped)["doc"][0].as_py().rstrip("\r\n") == first.rstrip("\r\n")


def test_otlp_requests_one_per_line_become_their_spans_at_that_line(tmp_path: Path) -> None:
    request = json.loads(fixture("otlp.json").read_text())  # two spans
    broken = {"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "dd", "status": "OK"}]}]}]}
    path = tmp_path / "collector.jsonl"
    lines = [json.dumps(request), "", json.dumps(broken), json.dumps({"resourceSpans": "abc"}), json.dumps(request)]
    path.write_text("\n".join(lines) + "\n")
    raw = read_all(path)
    assert raw["line"].to_pylist() == [1, 1, 3, 4, 5, 5]
    assert span_ids(raw)[:2] == ["c000000000000001", "c000000000000002"]
    problems = raw["problem"].to_pylist()
    assert problems[:2] == [None, None] and problems[4:] == [None, None]
    assert problems[2] == "malformed OTLP span: status is not an object"
    assert problems[3] == "malformed OTLP: resourceSpans is not an array"
    batch = normalize_raw(raw)
    assert batch.spans.num_rows == 4  # the lake, not the normalizer, drops the repeated request
    assert [(d["line"], d["reason"]) for d in batch.dead_letters.to_pylist()] == [(3, problems[2]), (4, problems[3])]


def test_a_flat_span_that_mentions_resource_spans_stays_one_record(tmp_path: Path) -> None:
    path = tmp_path / "flat.jsonl"
    path.write_text(json.dumps({"context.span_id": "s1", "note": {"resourceSpans": 1}, "x": "resourceSpans"}) + "\n")
    assert read_all(path)["doc"][0].as_py().rstrip() == path.read_text().rstrip()


def test_a_span_dataframe_written_with_to_csv_keeps_its_dict_and_list_cells() -> None:
    """pandas writes a dict or list cell as a Python repr (single quotes, datetime.datetime(…)):
    the metadata's session and cache tokens, the events' exception and the message lists still count;
    a content column keeps its text as written."""
    raw = read_all(fixture("phoenix_df_to_csv.csv"))
    spans = {row["span_id"]: row for row in normalize_raw(raw).spans.to_pylist()}
    llm, glob = spans["k000000000000001"], spans["k000000000000002"]
    assert (llm["session_id"], llm["developer_id"], llm["team"]) == ("sess-csv-df", "bob", "platform")
    assert (llm["cache_read_tokens"], llm["cache_write_tokens"], llm["input_preview"]) == (1500, 100, "what's in src/?")
    assert llm["output_preview"] == "[{'type': 'tool_use', 'id': 'toolu_7', 'name': 'Glob', 'input': {}}]"
    assert (glob["session_id"], glob["error_message"], glob["tool_name"]) == ("sess-csv-df", "pattern matched no files", "Glob")
    events = json.loads(json.loads(glob["metadata"])["events"])
    assert events[0]["timestamp"] == "2026-11-19T14:00:03.200000"


def test_a_repr_cell_that_is_no_python_literal_stays_as_written(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("context.span_id,start_time,attributes.custom\n"
                    "s1,1763900000000,\"{'a': __import__('os').getcwd()}\"\ns2,1763900000000,\"['unclosed\"\n", encoding="utf-8")
    docs = [json.loads(doc) for doc in read_all(path).column("doc").to_pylist()]
    assert docs[0]["attributes.custom"] == '{"a": "__import__(\'os\').getcwd()"}'  # a call is kept as its source, never run
    assert docs[1]["attributes.custom"] == "['unclosed"
