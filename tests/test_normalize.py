"""Normalizer rules, one fixture per layout of FORMATS.md."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from genai_prices import Usage, calc_price

from lens_etl.errors import ConfigError
from lens_etl.identity import load_identity
from lens_etl.normalize import NormalizedBatch, Normalizer
from lens_etl.schema import SPAN_SCHEMA
from lens_etl.sources.raw import raw_table

from etl_helpers import make_normalizer, normalize_files, normalize_raw, spans_by_id


@pytest.fixture(scope="module")
def flat() -> dict[str, dict]:
    return spans_by_id(normalize_files("arize_flat.jsonl"))


def one(record: dict) -> dict:
    batch = normalize_raw(raw_table("t.jsonl", [1], [json.dumps(record)]))
    assert batch.dead_letters.num_rows == 0, batch.dead_letters.column("reason").to_pylist()
    return batch.spans.to_pylist()[0]


BASE = {"context.span_id": "s1", "context.trace_id": "t1", "name": "litellm_request", "span_kind": "LLM", "start_time": 1763900000000}


def test_output_has_exactly_the_canonical_schema() -> None:
    assert normalize_files("arize_flat.jsonl").spans.schema == SPAN_SCHEMA


def test_epoch_ms_times_are_utc_and_latency_is_derived(flat: dict) -> None:
    span = flat["a000000000000001"]
    assert span["start_time"] == datetime(2025, 11, 23, 12, 13, 20)
    assert span["latency_ms"] == 4500.0
    assert str(span["event_date"]) == "2025-11-23"


def test_session_and_developer_from_litellm_metadata_json(flat: dict) -> None:
    span = flat["a000000000000001"]
    assert span["session_id"] == "sess-flat-1"
    assert (span["developer_id"], span["team"]) == ("alice", "payments")
    assert span["repo_slug"] == "payments-api"


def test_session_spreads_to_the_whole_trace(flat: dict) -> None:
    assert flat["a000000000000002"]["session_id"] == "sess-flat-1"
    assert flat["a000000000000002"]["developer_id"] == "alice"


def test_a_named_developer_wins_over_a_raw_account_id_in_the_same_trace_or_session() -> None:
    """An unmapped developer's request carries a user id; Claude Code's spans under it (and other
    traces of the session) only the account: one developer for the session, not two."""
    account = json.dumps({"device_id": "dev-9", "account_uuid": "acct-9", "session_id": "sess-9"})
    root = {**BASE, "attributes.user.id": "nora@example.com", "attributes.metadata": {"user_api_key_end_user_id": account}}
    child = {**BASE, "context.span_id": "s2", "name": "Claude_Code_Internal_Prompt_0", "parent_id": "s1",
             "attributes.metadata": {"user_api_key_end_user_id": account}}
    same_session = {**BASE, "context.span_id": "s3", "context.trace_id": "t2", "attributes.metadata": {"user_api_key_end_user_id": account}}
    other = json.dumps({"device_id": "dev-9", "account_uuid": "acct-9", "session_id": "sess-10"})
    alone = {**BASE, "context.span_id": "s4", "context.trace_id": "t3", "attributes.metadata": {"user_api_key_end_user_id": other}}
    batch = normalize_raw(raw_table("t.jsonl", [1, 2, 3, 4], [json.dumps(r) for r in (root, child, same_session, alone)]))
    developers = dict(zip(batch.spans.column("span_id").to_pylist(), batch.spans.column("developer_id").to_pylist()))
    assert developers == {"s1": "nora@example.com", "s2": "nora@example.com", "s3": "nora@example.com", "s4": "acct-9"}


def test_a_developer_lent_by_the_session_brings_their_team() -> None:
    """A trace whose spans carry only an unmapped account gets the session's named developer, and
    with them their team: team totals must not lose that developer's other traces."""
    account = json.dumps({"account_uuid": "acct-unmapped", "session_id": "sess-lent"})
    named = {**BASE, "attributes.user.id": "bob@acme.dev", "attributes.metadata": {"user_api_key_end_user_id": account}}
    other_trace = {**BASE, "context.span_id": "s2", "context.trace_id": "t2", "attributes.metadata": {"user_api_key_end_user_id": account}}
    tool = {**BASE, "context.span_id": "s3", "context.trace_id": "t2", "name": "Claude_Code_Tool_Read", "parent_id": "s2"}
    batch = normalize_raw(raw_table("t.jsonl", [1, 2, 3], [json.dumps(r) for r in (named, other_trace, tool)]))
    who = {row["span_id"]: (row["developer_id"], row["team"]) for row in batch.spans.to_pylist()}
    assert who == {"s1": ("bob", "platform"), "s2": ("bob", "platform"), "s3": ("bob", "platform")}


@pytest.mark.parametrize(("name", "text"), [
    ("identity.yaml", "developers:\n  alice: {team: payments, aliases: [shared@acme.dev]}\n"
                      "  bob: {team: platform, aliases: [Shared@acme.dev]}\n"),
    ("lens.toml", '[identity.developers.alice]\nteam = "payments"\n[identity.developers.bob]\naliases = ["alice"]\n'),
])
def test_an_alias_given_to_two_developers_is_one_error_naming_it(tmp_path: Path, name: str, text: str) -> None:
    """Else the developer named last silently takes the other's spans and spend."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alias '(Shared@acme.dev|alice)' is given to both 'alice' and 'bob'"):
        load_identity(path)


def test_litellm_master_key_user_id_names_no_developer() -> None:
    """LiteLLM sets user.id to `default_user_id` on every request made with its master key: each
    person stays the account their Claude Code sends, not one developer for everyone."""
    def span(span_id: str, account: str) -> dict:
        end_user = json.dumps({"account_uuid": account, "session_id": f"sess-{span_id}"})
        return {**BASE, "context.span_id": span_id, "context.trace_id": span_id, "attributes.user.id": "default_user_id",
                "attributes.metadata": {"user_api_key_end_user_id": end_user}}
    docs = [json.dumps(span("s1", "acct-1111")), json.dumps(span("s2", "acct-unmapped-1")), json.dumps(span("s3", "acct-unmapped-2"))]
    batch = normalize_raw(raw_table("t.jsonl", [1, 2, 3], docs))
    assert sorted(zip(batch.spans.column("developer_id").to_pylist(), batch.spans.column("team").to_pylist())) == [
        ("acct-unmapped-1", None), ("acct-unmapped-2", None), ("alice", "payments")]


def test_legacy_end_user_string_gives_session_and_account(flat: dict) -> None:
    span = flat["a000000000000004"]
    assert span["session_id"] == "sess-legacy-1"
    assert span["developer_id"] == "acct-2222" and span["team"] is None


def test_a_plain_litellm_end_user_id_is_the_developer() -> None:
    """A client that names its end user itself (LiteLLM's `user`) sends neither JSON nor the legacy string."""
    mapped = one({**BASE, "attributes.metadata": json.dumps({"user_api_key_end_user_id": "Bob@acme.dev"})})
    unmapped = one({**BASE, "context.span_id": "s2", "context.trace_id": "t2",
                    "attributes.metadata": json.dumps({"user_api_key_end_user_id": "nora"})})
    junk = one({**BASE, "context.span_id": "s3", "context.trace_id": "t3",
                "attributes.metadata": json.dumps({"user_api_key_end_user_id": "unknown"})})
    assert (mapped["developer_id"], mapped["team"]) == ("bob", "platform")
    assert (unmapped["developer_id"], unmapped["team"], junk["developer_id"]) == ("nora", None, None)


def test_junk_session_is_rejected_and_alias_matching_ignores_case(flat: dict) -> None:
    span = flat["a000000000000005"]
    assert span["session_id"] == "trace:t0000000000000000000000000000003"
    assert span["developer_id"] == "alice"


def test_model_names_are_normalized_and_dated_alias_kept(flat: dict) -> None:
    span = flat["a000000000000001"]
    assert span["model"] == "claude-sonnet-4-5" and span["provider"] == "anthropic"
    assert json.loads(span["metadata"])["attributes.llm.model_name"] == "claude-sonnet-4-5-20250929"


def test_cache_tokens_from_litellm_usage_object_and_cost_matches_genai_prices(flat: dict) -> None:
    span = flat["a000000000000001"]
    assert (span["tokens_in"], span["tokens_out"], span["cache_read_tokens"], span["cache_write_tokens"]) == (2000, 300, 400, 100)
    usage = Usage(input_tokens=2000, output_tokens=300, cache_read_tokens=400, cache_write_tokens=100)
    expected = float(calc_price(usage, "claude-sonnet-4-5-20250929", provider_id="anthropic").total_price)
    assert span["cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert span["price_status"] == "computed"


def test_cache_tokens_from_openinference_details_and_tiered_price() -> None:
    spans = spans_by_id(normalize_files("phoenix_rest.json", "phoenix_df.parquet"))
    haiku = spans["b000000000000001"]
    assert (haiku["cache_read_tokens"], haiku["cache_write_tokens"]) == (3000, 500)
    gemini = spans["f000000000000001"]  # 250k prompt tokens: above the 200k tier
    expected = float(calc_price(Usage(input_tokens=250000, output_tokens=1000), "gemini-2.5-pro").total_price)
    assert gemini["cost_usd"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("model", "prompt", "start"), [
    ("o3", 1000, datetime(2025, 5, 1, 12)),  # before its 2025-06-10 price cut
    ("o3", 1000, datetime(2025, 7, 1, 12)),
    ("claude-sonnet-4-6", 300_000, datetime(2026, 3, 12, 23, 59)),  # long-context rate until 2026-03-13
    ("claude-sonnet-4-6", 300_000, datetime(2026, 3, 13, 0, 1)),
])
def test_a_span_is_priced_at_the_price_in_force_when_it_started(model: str, prompt: int, start: datetime) -> None:
    """A re-ingested or late export from before a price change keeps the price it was charged."""
    epoch_ms = int(start.replace(tzinfo=timezone.utc).timestamp() * 1000)
    span = one({**BASE, "start_time": epoch_ms, "attributes.llm.model_name": model,
                "attributes.llm.token_count.prompt": prompt, "attributes.llm.token_count.completion": 500})
    expected = calc_price(Usage(input_tokens=prompt, output_tokens=500), model,
                          genai_request_timestamp=start.replace(tzinfo=timezone.utc)).total_price
    assert span["price_status"] == "computed" and span["cost_usd"] == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("prompt", [0, "NaN", None])
def test_a_known_model_without_prompt_tokens_is_priced(prompt: object) -> None:
    """No prompt tokens (0, NaN or absent) is the first price tier, not an unknown model."""
    record = {**BASE, "attributes.llm.model_name": "claude-opus-4-20250514", "attributes.llm.token_count.completion": 10}
    if prompt is not None:
        record["attributes.llm.token_count.prompt"] = prompt
    span = one(record)
    expected = float(calc_price(Usage(input_tokens=0, output_tokens=10), "claude-opus-4-20250514").total_price)
    assert span["price_status"] == "computed" and span["cost_usd"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("raw_model", "provider", "model", "priced_as"), [
    ("anthropic/claude-sonnet-4-5-20250929", None, "claude-sonnet-4-5", ("claude-sonnet-4-5-20250929", "anthropic")),
    ("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "claude-sonnet-4-5",
     ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")),
    ("bedrock/converse/global.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "claude-sonnet-4-5",
     ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock")),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "claude-sonnet-4-5", ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws")),
    ("vertex_ai/claude-sonnet-4-5@20250929", "vertex_ai", "claude-sonnet-4-5", ("claude-sonnet-4-5@20250929", "vertex_ai")),
    ("openai/gpt-4o-mini", None, "gpt-4o-mini", ("gpt-4o-mini", "openai")),
    ("gemini/gemini-2.5-pro", None, "gemini-2.5-pro", ("gemini-2.5-pro", "gemini")),
])
def test_routed_and_bedrock_model_ids_are_normalized_and_priced(raw_model: str, provider: str | None, model: str,
                                                                priced_as: tuple[str, str]) -> None:
    """LiteLLM writes the route into the model name; a Bedrock or Vertex id is still a known model."""
    record = {**BASE, "attributes.llm.model_name": raw_model, "attributes.llm.token_count.prompt": 1000,
              "attributes.llm.token_count.completion": 100, "attributes.llm.token_count.prompt_details.cache_read": 200}
    if provider:
        record["attributes.llm.provider"] = provider
    span = one(record)
    usage = Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=200)
    expected = float(calc_price(usage, priced_as[0], provider_id=priced_as[1]).total_price)
    assert span["model"] == model
    assert span["price_status"] == "computed" and span["cost_usd"] == pytest.approx(expected, rel=1e-12)


def test_reported_cost_wins(flat: dict) -> None:
    span = flat["a000000000000005"]
    assert span["cost_usd"] == 0.5 and span["price_status"] == "reported"


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_reported_prompt_and_completion_costs_win_without_a_total(layout: str) -> None:
    attributes = {"llm.model_name": "claude-sonnet-4-5-20250929", "llm.token_count.prompt": 1000,
                  "llm.token_count.completion": 100, "llm.cost.prompt": 0.25, "llm.cost.completion": 0.5}
    record = {**BASE, **{f"attributes.{k}": v for k, v in attributes.items()}} if layout == "flat" else {**BASE, "attributes": attributes}
    span = one(record)
    assert span["cost_usd"] == 0.75 and span["price_status"] == "reported"


def test_a_reported_cost_part_of_the_wrong_type_is_a_dead_letter() -> None:
    batch = normalize_raw(raw_table("t.jsonl", [1], [json.dumps({**BASE, "attributes.llm.cost.completion": "cheap"})]))
    assert batch.dead_letters.column("reason").to_pylist() == ["wrong type: llm.cost.completion = cheap"]


def test_a_reported_zero_cost_for_tokens_used_is_no_price() -> None:
    """LiteLLM reports llm.cost.total = 0 for a model it cannot price: the span is priced from its
    tokens, or flagged unpriced, never kept at 0; zero for zero tokens stays reported."""
    usage = {"attributes.llm.token_count.prompt": 1000, "attributes.llm.token_count.completion": 100, "attributes.llm.cost.total": 0}
    known = one({**BASE, "attributes.llm.model_name": "claude-sonnet-4-5-20250929", **usage})
    unknown = one({**BASE, "context.span_id": "s2", "attributes.llm.model_name": "acme-internal-coder-v2", **usage})
    idle = one({**BASE, "context.span_id": "s3", "attributes.llm.model_name": "acme-internal-coder-v2", "attributes.llm.cost.total": 0})
    expected = float(calc_price(Usage(input_tokens=1000, output_tokens=100), "claude-sonnet-4-5-20250929").total_price)
    assert known["price_status"] == "computed" and known["cost_usd"] == pytest.approx(expected, rel=1e-12)
    assert (unknown["price_status"], unknown["cost_usd"]) == ("unknown_model", None)
    assert (idle["price_status"], idle["cost_usd"]) == ("reported", 0.0)


def test_unknown_model_is_null_and_flagged_never_zero(flat: dict) -> None:
    span = flat["a000000000000004"]
    assert span["cost_usd"] is None and span["price_status"] == "unknown_model"
    assert normalize_files("arize_flat.jsonl").unpriced == 1


def test_tool_names_from_tool_spans_and_python_repr_tool_use_blocks(flat: dict) -> None:
    assert flat["a000000000000002"]["span_kind"] == "TOOL"  # UNKNOWN kind, Claude_Code_Tool_ name
    assert flat["a000000000000002"]["tool_name"] == "Edit"
    assert flat["a000000000000003"]["tool_name"] == "Write"
    assert flat["a000000000000001"]["tool_name"] == "Read,Edit"


def test_json_tool_use_blocks_in_output_messages() -> None:
    blocks = [{"type": "tool_use", "id": "toolu_1", "name": "Grep", "input": {"pattern": "x"}}]
    span = one({**BASE, "attributes.output.value": json.dumps(blocks)})
    assert span["tool_name"] == "Grep"


def test_phoenix_dataframe_message_lists_give_previews_and_tool_calls_without_bulk_in_metadata() -> None:
    """Phoenix's span dataframe keeps `attributes.llm.input_messages` / `output_messages` as lists of
    {"message.role", "message.content", "message.tool_calls"}: read them as the flattened keys are."""
    spans = spans_by_id(normalize_files("phoenix_df_messages.parquet"))
    claude, gpt = spans["g000000000000001"], spans["g000000000000002"]
    assert claude["input_preview"] == "You are Claude Code."
    assert "tool_use" in claude["output_preview"] and claude["tool_name"] == "Glob"
    assert gpt["tool_name"] == "Bash"  # OpenInference tool calls of the output message
    metadata = json.loads(claude["metadata"])
    assert [m["message.role"] for m in metadata["attributes.llm.input_messages"]] == ["system", "user"]
    assert "message.content" not in json.dumps(metadata)  # content is in the previews, not repeated


def test_flattened_openinference_tool_calls_name_the_llm_spans_tools() -> None:
    key = "llm.output_messages.0.message.tool_calls.{}.tool_call.function.name"
    flat = one({**BASE, f"attributes.{key.format(0)}": "Grep", f"attributes.{key.format(1)}": "Read",
                "attributes.llm.input_messages.1.message.tool_calls.0.tool_call.function.name": "Bash"})  # history, not this call
    nested = one({**BASE, "attributes": {key.format(0): "Glob"}})
    assert (flat["tool_name"], nested["tool_name"]) == ("Grep,Read", "Glob")


def test_accepted_edit_counts_lines_and_diff_ratio(flat: dict) -> None:
    edit = flat["a000000000000002"]
    assert edit["accepted_flag"] is True and edit["accepted_lines"] == 3
    assert edit["diff_ratio"] == pytest.approx(1 - 1 / 3)


def test_rejected_write_is_not_accepted(flat: dict) -> None:
    write = flat["a000000000000003"]
    assert write["accepted_flag"] is False and write["accepted_lines"] == 0


def test_multiedit_counts_every_edit() -> None:
    tool_input = {"id": "t", "name": "MultiEdit", "input": {"edits": [{"old_string": "a", "new_string": "b\nc"}, {"old_string": "d", "new_string": "e"}]}}
    span = one({**BASE, "name": "Claude_Code_Tool_MultiEdit", "attributes.input.value": json.dumps(tool_input), "attributes.output.value": "ok"})
    assert span["accepted_lines"] == 3


def _edit(span_id: str, tool: str, tool_input: dict, output: str = "ok") -> dict:
    block = json.dumps({"id": "toolu_x", "name": tool, "input": tool_input})
    return one({**BASE, "context.span_id": span_id, "name": f"Claude_Code_Tool_{tool}", "attributes.input.value": block,
                "attributes.output.value": output})


def test_edit_lines_count_what_the_file_gains_not_a_final_newline_or_an_empty_text() -> None:
    write = _edit("w", "Write", {"file_path": "/a.py", "content": "a\nb\nc\n"})
    deletion = _edit("d", "Edit", {"file_path": "/a.py", "old_string": "a\nb", "new_string": ""})
    assert (write["accepted_lines"], deletion["accepted_lines"], deletion["diff_ratio"]) == (3, 0, 1.0)


def test_diff_ratio_counts_repeated_lines_as_often_as_they_are_kept() -> None:
    """Closing braces and blank lines repeat: an edit that keeps them all changed one line of four."""
    edit = _edit("e", "Edit", {"old_string": "  }\n}\n\nx = 1\n", "new_string": "  }\n}\n\nx = 2\n"})
    assert edit["diff_ratio"] == pytest.approx(0.25)
    unchanged = _edit("u", "Edit", {"old_string": "}\n}", "new_string": "}\n}"})
    assert unchanged["diff_ratio"] == 0.0


def test_an_edit_the_tool_could_not_apply_is_not_accepted() -> None:
    edit = _edit("f", "Edit", {"old_string": "a", "new_string": "b"},
                 "<tool_use_error>String to replace not found in file.\nString: a</tool_use_error>")
    assert (edit["accepted_flag"], edit["accepted_lines"]) == (False, 0)


def test_error_message_from_exception_event_when_status_message_is_empty(flat: dict) -> None:
    span = flat["a000000000000004"]
    assert span["status"] == "ERROR" and span["error_message"] == "litellm.RateLimitError: rate limited"


def test_error_message_from_status_message() -> None:
    spans = spans_by_id(normalize_files("phoenix_rest.json"))
    assert spans["b000000000000002"]["error_message"] == "exit code 1"


def test_a_status_message_is_an_error_message_only_on_an_error() -> None:
    """An OK or UNSET span's status message is no error: the session screen shows every error message."""
    ok = one({**BASE, "status_code": "OK", "status_message": "fine"})
    unset = one({**BASE, "status_message": "done"})
    assert (ok["error_message"], unset["error_message"]) == (None, None)
    assert json.loads(ok["metadata"])["status_message"] == "fine"  # still kept


def test_an_exception_event_without_a_message_is_named_by_its_type() -> None:
    events = [{"name": "exception", "attributes": {"exception.type": "TimeoutError", "exception.message": ""}}]
    assert one({**BASE, "status_code": "ERROR", "events": events})["error_message"] == "TimeoutError"


def test_previews_are_bounded_and_secrets_redacted() -> None:
    span = one({**BASE, "attributes.input.value": "token sk-ant-api03-" + "A" * 40 + " mail me@x.org " + "z" * 10000})
    assert "sk-ant" not in span["input_preview"] and "me@x.org" not in span["input_preview"]
    assert "[REDACTED:anthropic_key]" in span["input_preview"]
    assert len(span["input_preview"]) == 2000


def test_every_other_attribute_is_kept_in_metadata_but_not_bulky_content() -> None:
    span = one({**BASE, "attributes.custom.flag": True, "attributes.input.value": "big", "resource.attributes.host": "h",
                "attributes.tool.name": None, "attributes.app": {"version": {"major": 2}, "build": None},
                "attributes.llm.model_name": "claude-sonnet-4-5-20250929",
                "end_time": 1763900001000, "parent_id": "p0", "status_code": "OK", "status_message": "fine"})
    metadata = json.loads(span["metadata"])
    assert metadata["attributes.custom.flag"] is True and metadata["resource.attributes.host"] == "h"
    assert metadata["attributes.app"] == {"version": {"major": 2}}
    assert "attributes.input.value" not in metadata
    # what the span's own columns hold as it was is not repeated, nor a null (a flat export's column
    # the span does not have); the raw model name and the rest stay
    assert metadata == {"attributes.custom.flag": True, "resource.attributes.host": "h", "attributes.app": {"version": {"major": 2}},
                        "attributes.llm.model_name": "claude-sonnet-4-5-20250929", "status_message": "fine"}
    assert (span["span_id"], span["trace_id"], span["parent_span_id"], span["name"], span["span_kind"], span["status"]) == (
        "s1", "t1", "p0", "litellm_request", "LLM", "OK")
    assert (span["start_time"], span["end_time"]) == (datetime(2025, 11, 23, 12, 13, 20), datetime(2025, 11, 23, 12, 13, 21))


TOKENS = {"llm.token_count.prompt": 1000.0, "llm.token_count.completion": 50, "llm.token_count.total": 1050,
          "llm.token_count.prompt_details.cache_read": 600, "llm.token_count.prompt_details.cache_write": 100}


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_token_counts_the_columns_hold_are_not_repeated_in_metadata(layout: str) -> None:
    def metadata_of(tokens: dict) -> tuple[dict, dict]:
        attributes = {**tokens, "gen_ai.usage.input_tokens": 999, "custom.flag": 1}
        record = ({**BASE, **{f"attributes.{k}": v for k, v in attributes.items()}} if layout == "flat"
                  else {**BASE, "attributes": attributes})
        span = one(record)
        metadata = json.loads(span["metadata"])
        return span, (metadata if layout == "flat" else {f"attributes.{k}": v for k, v in metadata["attributes"].items()})

    span, metadata = metadata_of(TOKENS)
    assert (span["tokens_in"], span["tokens_out"], span["cache_read_tokens"], span["cache_write_tokens"]) == (1000, 50, 600, 100)
    # the columns hold them (the total is their sum); a second convention's count, not in a column, stays
    assert metadata == {"attributes.gen_ai.usage.input_tokens": 999, "attributes.custom.flag": 1}
    _, metadata = metadata_of({**TOKENS, "llm.token_count.total": 1234})  # a total that says more than the columns
    assert metadata["attributes.llm.token_count.total"] == 1234


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_no_message_content_stays_in_metadata_however_long_the_conversation(layout: str) -> None:
    """A request carries the whole conversation: message 40's content is as bulky, and as private
    (metadata is redacted for secrets only), as message 0's."""
    attributes = {}
    for i in range(41):
        attributes[f"llm.input_messages.{i}.message.role"] = "user"
        attributes[f"llm.input_messages.{i}.message.content"] = f"turn {i}: write to carol@example.com"
    attributes["llm.output_messages.0.message.contents.0.message_content.text"] = "done, carol@example.com"
    record = {**BASE, **{f"attributes.{k}": v for k, v in attributes.items()}} if layout == "flat" else {**BASE, "attributes": attributes}
    span = one(record)
    assert "carol@example.com" not in span["metadata"] and "turn 40" not in span["metadata"]
    metadata = json.loads(span["metadata"])
    roles = metadata if layout == "flat" else metadata["attributes"]
    assert sum(key.endswith(".message.role") for key in roles) == 41  # the rest of each message stays
    assert span["input_preview"] == "turn 0: write to [REDACTED:email]"


def test_the_raw_request_litellm_copies_onto_its_child_span_stays_out_of_metadata() -> None:
    """raw_gen_ai_request holds the request again as llm.<provider>.messages / .system (megabytes):
    bounded, with its e-mail addresses and the rest of the conversation left out; small parameters stay."""
    messages = str([{"role": "user", "content": "mail dave@example.com " + "x" * 200_000}])
    span = one({**BASE, "name": "raw_gen_ai_request", "attributes.llm.anthropic.messages": messages,
                "attributes.llm.anthropic.system": "You are Claude Code. " * 500, "attributes.llm.anthropic.max_tokens": 32000,
                "attributes.llm.system": "anthropic"})
    assert json.loads(span["metadata"]) == {"attributes.llm.anthropic.max_tokens": 32000, "attributes.llm.system": "anthropic"}


def test_nested_attributes_lose_only_their_bulky_content() -> None:
    span = one({**{k: v for k, v in BASE.items() if k != "context.span_id"}, "context": {"span_id": "n1", "trace_id": "t"},
                "status": {"code": "ERROR", "message": "boom"},
                "attributes": {"input.value": "big", "llm.output_messages.0.message.content": "big", "custom.flag": 1}})
    metadata = json.loads(span["metadata"])
    assert metadata["attributes"] == {"custom.flag": 1}
    assert metadata["status"] == {"message": "boom"} and metadata.get("context", {}) == {}
    assert (span["span_id"], span["status"]) == ("n1", "ERROR")


def test_a_flat_record_beside_nested_ones_gains_no_empty_objects_in_metadata() -> None:
    """An exception event's `attributes` object makes a batch read every layout: its flat records
    keep exactly their own keys."""
    events = [{"name": "exception", "attributes": {"exception.message": "boom"}}]
    flat = {**BASE, "attributes.custom.flag": 1, "attributes.input.value": "big", "status_code": "ERROR", "events": events}
    nested = {"context": {"span_id": "n1", "trace_id": "t"}, "start_time": 1763900000000, "attributes": {"custom.flag": 2}}
    batch = normalize_raw(raw_table("t.jsonl", [1, 2], [json.dumps(flat), json.dumps(nested)]))
    metadata = {row["span_id"]: json.loads(row["metadata"]) for row in batch.spans.to_pylist()}
    assert metadata["s1"] == {"attributes.custom.flag": 1, "events": events}
    assert metadata["n1"] == {"context": {}, "attributes": {"custom.flag": 2}}


def test_otlp_spans_normalize_with_resource_service_name() -> None:
    spans = spans_by_id(normalize_files("otlp.json"))
    llm = spans["c000000000000001"]
    assert (llm["model"], llm["tokens_in"], llm["service_name"], llm["developer_id"]) == ("claude-opus-4-1", 1200, "claude-code", "bob")
    assert llm["start_time"] == datetime(2025, 11, 24, 12, 0)
    assert spans["c000000000000002"]["status"] == "ERROR"


def test_packed_attributes_nested_key_by_key_are_read_as_dotted_keys() -> None:
    """Phoenix's database rows exported as they are: `attributes` one JSON string, nested key by key
    ({"llm": {"token_count": {"prompt": …}}}), SQLite times with a space. Every column is read."""
    spans = spans_by_id(normalize_files("phoenix_db_rows.csv"))
    llm, bash = spans["h000000000000001"], spans["h000000000000002"]
    usage = Usage(input_tokens=4000, output_tokens=250, cache_read_tokens=3000, cache_write_tokens=200)
    expected = float(calc_price(usage, "claude-sonnet-4-5-20250929", provider_id="anthropic").total_price)
    assert (llm["model"], llm["tokens_in"], llm["tokens_out"], llm["cache_read_tokens"], llm["cache_write_tokens"]) == (
        "claude-sonnet-4-5", 4000, 250, 3000, 200)
    assert llm["cost_usd"] == pytest.approx(expected, rel=1e-12) and llm["price_status"] == "computed"
    assert (llm["session_id"], llm["developer_id"], llm["team"], llm["repo_slug"]) == ("sess-db-1", "alice", "payments", "billing")
    assert (llm["input_preview"], llm["tool_name"], llm["latency_ms"]) == ("rename the helper", "Edit", 1500.0)
    assert (bash["tool_name"], bash["session_id"], bash["error_message"]) == ("Bash", "sess-db-1", "make: *** [all] Error 2")
    assert llm["start_time"] == datetime(2026, 11, 22, 9, 0)
    assert json.loads(llm["metadata"])["attributes"]["llm.model_name"] == "claude-sonnet-4-5-20250929"


def test_a_packed_record_the_normalizer_rejects_keeps_its_own_text_as_dead_letter() -> None:
    record = json.dumps({"context.span_id": "p1", "attributes": json.dumps({"llm": {"model_name": "m"}})})
    dead = normalize_raw(raw_table("p.jsonl", [3], [record])).dead_letters.to_pylist()
    assert [(d["line"], d["raw"]) for d in dead] == [(3, record)] and "missing field: start_time" in dead[0]["reason"]


def test_iso_naive_csv_times_are_utc() -> None:
    spans = spans_by_id(normalize_files("spans.csv"))
    assert spans["d000000000000001"]["start_time"] == datetime(2026, 11, 22, 9, 0)
    assert spans["d000000000000001"]["latency_ms"] == 2500.0


def test_content_blackouts_are_counted(flat: dict) -> None:
    assert normalize_files("arize_flat.jsonl").blackouts == 1


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "not a JSON object: array"),
        (json.dumps({"name": "x", "start_time": 1763900000000}), "missing field: span id"),
        (json.dumps({"context.span_id": "s", "start_time": "yesterday"}), "unparseable time: start_time = yesterday"),
        (json.dumps({"context.span_id": "s"}), "missing field: start_time"),
        (json.dumps({"context.span_id": "s", "start_time": 1763900000000, "end_time": "soon"}), "unparseable time: end_time"),
        (json.dumps({"context.span_id": "s", "start_time": 1763900000000, "end_time": 1763800000000}),
         "bad time: end_time 1763800000000 is before start_time 1763900000000"),
        (json.dumps({**BASE, "attributes.llm.token_count.prompt": "lots"}), "wrong type: llm.token_count.prompt = lots"),
        (json.dumps({**BASE, "context.span_id": {"nested": 1}}), "wrong type: span id"),
    ],
)
def test_bad_records_become_dead_letters_with_reason_and_raw(record: str, reason: str) -> None:
    batch = normalize_raw(raw_table("bad.jsonl", [7], [record]))
    assert batch.spans.num_rows == 0
    dead = batch.dead_letters.to_pylist()[0]
    assert reason in dead["reason"]
    assert (dead["source_file"], dead["line"], dead["raw"]) == ("bad.jsonl", 7, record)


def test_mixed_batch_splits_into_spans_and_dead_letters() -> None:
    batch = normalize_files("arize_flat.jsonl", "spans.csv")
    reasons = sorted(batch.dead_letters.column("reason").to_pylist())
    assert len(reasons) == 4
    assert any("malformed CSV row" in r for r in reasons) and any("malformed JSON" in r for r in reasons)
    assert batch.spans.num_rows + batch.dead_letters.num_rows == 7 + 4


class _TrippingNormalizer(Normalizer):
    """The real normalizer, but its SQL fails on any batch holding a record with the marker, as
    it would on a record no rule foresaw."""

    MARKER = "trips-the-sql"

    def _normalize_batch(self, raw: pa.Table) -> NormalizedBatch:
        if any(self.MARKER in doc for doc in raw["doc"].to_pylist()):
            raise duckdb.InvalidInputException("Invalid Input Error: Malformed JSON at byte 0")
        return super()._normalize_batch(raw)


def test_a_record_the_sql_cannot_take_is_dead_lettered_and_the_rest_lands() -> None:
    docs = [json.dumps({**BASE, "context.span_id": f"s{i}"}) for i in range(13)]
    docs[4] = json.dumps({**BASE, "context.span_id": "s4", "attributes.note": _TrippingNormalizer.MARKER})
    docs[11] = docs[11].replace("litellm_request", f"{_TrippingNormalizer.MARKER} sk-ant-api03-{'x' * 40}")
    plain = make_normalizer()
    normalizer = _TrippingNormalizer(plain.context)
    plain.close()
    try:
        batch = normalizer.normalize(raw_table("odd.jsonl", list(range(1, 14)), docs))
    finally:
        normalizer.close()
    assert batch.spans.column("span_id").to_pylist() == [f"s{i}" for i in range(13) if i not in (4, 11)]
    dead = batch.dead_letters.to_pylist()
    assert [(d["source_file"], d["line"]) for d in dead] == [("odd.jsonl", 5), ("odd.jsonl", 12)]
    assert all(d["reason"] == "cannot normalize: Invalid Input Error: Malformed JSON at byte 0" for d in dead)
    assert dead[0]["raw"] == docs[4] and "sk-ant-api03-" not in dead[1]["raw"]  # kept, secrets redacted
    assert batch.redactions >= 1


def test_empty_batch_gives_empty_tables() -> None:
    batch = normalize_raw(raw_table("e.jsonl", [], []))
    assert batch.spans.num_rows == 0 and batch.dead_letters.num_rows == 0
    assert isinstance(batch.spans, pa.Table)
