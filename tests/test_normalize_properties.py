"""Property tests: any record becomes exactly one span or one dead letter, never an exception."""
from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lens_etl.pipeline import ingest
from lens_etl.sources.raw import raw_table

from etl_helpers import make_normalizer, settings_for

NORMALIZER = make_normalizer()

KEYS = [
    "context.span_id", "context.trace_id", "parent_id", "name", "span_kind", "start_time", "end_time",
    "status_code", "status_message", "events", "attributes.llm.model_name", "attributes.llm.provider",
    "attributes.llm.token_count.prompt", "attributes.llm.token_count.completion",
    "attributes.llm.token_count.prompt_details.cache_read", "attributes.llm.cost.total", "attributes.metadata",
    "attributes.session.id", "attributes.user.id", "attributes.input.value", "attributes.output.value",
    "attributes.tool.name", "attributes", "context",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["1763900000000", "2026-11-01T10:00:00Z", "claude-sonnet-4-5-20250929", "NaN", "", "null"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
records = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), values, max_size=12)
plausible = st.fixed_dictionaries(
    {"context.span_id": st.text(min_size=1, max_size=20), "start_time": st.integers(min_value=10**12, max_value=4 * 10**12)},
    optional={k: values for k in KEYS[2:] if k != "start_time"},
)
docs = st.one_of(records.map(json.dumps), plausible.map(json.dumps), st.text(max_size=60))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(docs, min_size=1, max_size=8))
@example(['{"context.span_id": "0", "start_time": 1000000000000, "events": ""}'])  # events not JSON: no events
@example(['{"context.span_id": "1", "start_time": 1000000000000, "events": "oops", "status_code": "ERROR"}'])
def test_every_record_ends_as_exactly_one_span_or_dead_letter(batch_docs: list[str]) -> None:
    lines = list(range(1, len(batch_docs) + 1))
    result = NORMALIZER.normalize(raw_table("prop.jsonl", lines, batch_docs))
    assert result.spans.num_rows + result.dead_letters.num_rows == len(batch_docs)
    assert all(result.dead_letters.column("reason").to_pylist())
    for cost in result.spans.column("cost_usd").to_pylist():
        assert cost is None or cost >= 0


ATTRIBUTE_PARTS = st.sampled_from(["llm", "token_count", "prompt", "model_name", "session", "id", "user", "tool", "name",
                                    "input", "output", "value", "openinference", "span", "kind", "metadata", "0", "message",
                                    "content", "input_messages"]) | st.text(max_size=8)
nested_attributes = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ATTRIBUTE_PARTS, inner, max_size=4),
                                 max_leaves=16)
packed = st.fixed_dictionaries(
    {"context.span_id": st.text(min_size=1, max_size=20), "start_time": st.integers(min_value=10**12, max_value=4 * 10**12)},
    optional={"attributes": nested_attributes | nested_attributes.map(json.dumps), "events": values, "status_code": values},
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(packed.map(json.dumps) | docs, min_size=1, max_size=8))
@example(['{"context.span_id": "d", "start_time": 1000000000000, "attributes": ' + '{"llm": ' * 990 + '1' + '}' * 990 + '}'])
@example(['{"context.span_id": "p", "start_time": 1000000000000, "attributes": "{\\"llm\\": [[[1]]]}"}'])
def test_packed_and_key_by_key_nested_attributes_end_as_exactly_one_span_or_dead_letter(batch_docs: list[str]) -> None:
    """Attributes in one JSON string, or nested key by key, are unpacked in Python before the SQL:
    whatever they hold, no exception escapes and nothing is lost."""
    result = NORMALIZER.normalize(raw_table("packed.jsonl", list(range(1, len(batch_docs) + 1)), batch_docs))
    assert result.spans.num_rows + result.dead_letters.num_rows == len(batch_docs)
    assert all(result.dead_letters.column("reason").to_pylist())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(plausible.map(json.dumps), min_size=1, max_size=6))
def test_reingesting_the_same_records_is_a_no_op(tmp_path_factory, batch_docs: list[str]) -> None:
    data_dir: Path = tmp_path_factory.mktemp("lake")
    settings_ = settings_for(data_dir)
    raw = raw_table("prop.jsonl", list(range(1, len(batch_docs) + 1)), batch_docs)
    first = ingest(settings_, "file", "prop", [raw])
    second = ingest(settings_, "file", "prop", [raw])
    assert first.read == first.written + first.duplicates + first.dead_letters
    assert second.written == 0
    assert second.duplicates == first.written + first.duplicates
