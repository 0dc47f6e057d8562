"""OTLP/JSON: every span becomes a record; a malformed part becomes one record with its reason."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from lens_etl.errors import InputFileError
from lens_etl.sources.files import read_files
from lens_etl.sources.otlp import MalformedOtlp, otlp_records

from etl_helpers import fixture

REQUEST = json.loads(fixture("otlp.json").read_text())


def first_span_with(**fields: Any) -> dict[str, Any]:
    request = copy.deepcopy(REQUEST)
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(fields)
    return request


@pytest.mark.parametrize(("fields", "problem"), [
    ({"status": "OK"}, "status is not an object"),
    ({"status": {"code": [1]}}, "status.code is not a number or a name"),
    ({"events": "x"}, "events is not an array"),
    ({"events": ["x"]}, "events[0] is not an object"),
    ({"attributes": [{"key": "n", "value": {"intValue": "1.5"}}]}, "'n' intValue is not an integer: 1.5"),
    ({"attributes": [{"key": "n", "value": {"intValue": "notint"}}]}, "'n' intValue is not an integer: notint"),
    ({"attributes": [{"key": ["a"], "value": {"stringValue": "x"}}]}, "attributes[0].key is not a string"),
])
def test_a_malformed_span_is_one_record_with_its_problem_and_the_others_are_read(fields: dict, problem: str) -> None:
    records = list(otlp_records(first_span_with(**fields)))
    assert len(records) == 2
    assert records[0].problem is not None and records[0].problem.startswith("malformed OTLP span: ")
    assert problem in records[0].problem
    assert records[0].record == first_span_with(**fields)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert records[1].problem is None and records[1].record["context"]["span_id"] == "c000000000000002"


@pytest.mark.parametrize(("resource_spans", "problem"), [
    ({"resource": "r", "scopeSpans": []}, "resourceSpans[0].resource is not an object"),
    ({"scopeSpans": ["x"]}, "resourceSpans[0].scopeSpans[0] is not an object"),
    ({"scopeSpans": [{"spans": ["x"]}]}, "the span is not an object"),
    ({"scopeSpans": [{"scope": "s", "spans": []}]}, "resourceSpans[0].scopeSpans[0].scope is not an object"),
])
def test_a_malformed_resource_or_scope_is_one_record_with_its_problem(resource_spans: dict, problem: str) -> None:
    records = list(otlp_records({"resourceSpans": [resource_spans, *REQUEST["resourceSpans"]]}))
    assert len(records) == 3 and problem in (records[0].problem or "")
    assert [r.problem for r in records[1:]] == [None, None]


@pytest.mark.parametrize("resource_spans", ["abc", {"a": 1}, 7])
def test_an_unusable_otlp_document_is_one_error_line(tmp_path: Path, resource_spans: Any) -> None:
    with pytest.raises(MalformedOtlp):
        list(otlp_records({"resourceSpans": resource_spans}))
    path = tmp_path / "otlp.json"
    path.write_text(json.dumps({"resourceSpans": resource_spans}))
    with pytest.raises(InputFileError, match="not an OTLP/JSON request: resourceSpans is not an array") as info:
        list(read_files([path], 1 << 20))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_list_of_strings_as_resource_spans_is_a_dead_letter_per_string() -> None:
    records = list(otlp_records({"resourceSpans": ["x"]}))
    assert [(r.record, r.problem) for r in records] == [("x", "malformed OTLP: resourceSpans[0] is not an object")]


def json_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, as the keys and indexes that lead there."""
    found = [path]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found += json_paths(child, (*path, key))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    value = copy.deepcopy(value)
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
PLACES = json_paths(REQUEST)


@given(st.sampled_from(PLACES[1:]), JUNK)
@settings(max_examples=400, deadline=None)
def test_junk_anywhere_in_a_request_gives_records_or_one_known_error(path: tuple, junk: Any) -> None:
    document = replaced(REQUEST, path, junk)
    try:
        records = list(otlp_records(document))
    except MalformedOtlp:
        assert path == ("resourceSpans",)  # only an unusable resourceSpans stops the document
        return
    for record in records:
        json.dumps(record.record, default=str)
        assert record.problem is None or record.problem.startswith("malformed OTLP")
        assert record.problem is not None or isinstance(record.record, dict)
    kept = json.dumps([r.record for r in records], default=str)
    for place, span_id in SPAN_PLACES:
        if path != place[:len(path)]:  # the junk is not this span's id or a part holding it: nothing lost
            assert span_id in kept


SPAN_PLACES = [(("resourceSpans", 0, "scopeSpans", 0, "spans", j, "spanId"), span["spanId"])
               for j, span in enumerate(REQUEST["resourceSpans"][0]["scopeSpans"][0]["spans"])]


@given(st.sampled_from(PLACES), JUNK)
@settings(max_examples=150, deadline=None)
def test_junk_anywhere_in_an_otlp_file_is_records_or_one_error_line(tmp_path_factory, path: tuple, junk: Any) -> None:
    file = tmp_path_factory.mktemp("otlp") / "otlp.json"
    file.write_text(json.dumps(replaced(REQUEST, path, junk)))
    try:
        list(read_files([file], 1 << 20))
    except InputFileError as exc:
        assert str(file) in str(exc) and "\n" not in str(exc)
