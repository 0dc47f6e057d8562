"""Where each raw field lives in every accepted layout, by OpenInference attribute name.

A raw record is one JSON object in any of these layouts: flat dotted columns
(`attributes.llm.model_name`, Arize export / Phoenix dataframe), a nested `attributes`
object with dotted keys (Phoenix REST, converted OTLP), or LiteLLM's JSON-string
`metadata`. The normalizer parses each record once into a struct of all these fields.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from openinference.semconv.trace import SpanAttributes as A

# LiteLLM keeps these inside the `metadata` JSON string; Phoenix REST flattens them.
END_USER = "user_api_key_end_user_id"
LITELLM_CACHE_READ = "usage_object.cache_read_input_tokens"
LITELLM_CACHE_WRITE = "usage_object.cache_creation_input_tokens"

TOP_LEVEL: dict[str, tuple[str, ...]] = {
    "span_id": ("context.span_id", "context.span_id@nested", "span_id", "spanId"),
    "trace_id": ("context.trace_id", "context.trace_id@nested", "trace_id", "traceId"),
    "parent_id": ("parent_id", "parent_span_id", "parentSpanId"),
    "name": ("name",),
    "span_kind": ("span_kind",),
    "start_time": ("start_time", "startTime"),
    "end_time": ("end_time", "endTime"),
    "status_code": ("status_code", "status.code@nested"),
    "status_message": ("status_message", "status.message@nested"),
    "project": ("project", "project_name", "resource.attributes.openinference.project.name"),
    "service_name": ("resource.attributes.service.name", "service_name"),
    "events": ("events",),
    # Phoenix's span dataframe keeps each message list whole: [{"message.role", "message.content", …}]
    "input_messages": (f"attributes.{A.LLM_INPUT_MESSAGES}",),
    "output_messages": (f"attributes.{A.LLM_OUTPUT_MESSAGES}",),
}
"""Top-level keys; `a.b@nested` means the path a -> b rather than the key "a.b"."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "kind_attr": (A.OPENINFERENCE_SPAN_KIND,),
    "model": (A.LLM_MODEL_NAME, A.LLM_RESPONSE_MODEL_NAME, A.LLM_REQUEST_MODEL_NAME, "gen_ai.request.model"),
    "provider": (A.LLM_PROVIDER, A.LLM_SYSTEM, "gen_ai.system"),
    "tokens_in": (A.LLM_TOKEN_COUNT_PROMPT, "gen_ai.usage.input_tokens"),
    "tokens_out": (A.LLM_TOKEN_COUNT_COMPLETION, "gen_ai.usage.output_tokens"),
    "tokens_total": (A.LLM_TOKEN_COUNT_TOTAL,),
    "cache_read": (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, "metadata." + LITELLM_CACHE_READ),
    "cache_write": (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE, "metadata." + LITELLM_CACHE_WRITE),
    "cost_total": (A.LLM_COST_TOTAL,),
    "cost_prompt": (A.LLM_COST_PROMPT,),
    "cost_completion": (A.LLM_COST_COMPLETION,),
    "session_attr": (A.SESSION_ID,),
    "user_attr": (A.USER_ID,),
    "tool_attr": (A.TOOL_NAME,),
    "tool_params": (A.TOOL_PARAMETERS,),
    "input_value": (A.INPUT_VALUE,),
    "output_value": (A.OUTPUT_VALUE,),
    "input_message": (f"{A.LLM_INPUT_MESSAGES}.0.message.content",),
    "output_message": (f"{A.LLM_OUTPUT_MESSAGES}.0.message.content",),
    "metadata": (A.METADATA,),
    "end_user_flat": ("metadata." + END_USER,),
    "repo_flat": ("metadata.repo", "metadata.repo_slug", "repo.slug"),
    "cwd_flat": ("metadata.cwd", "cwd"),
    "service_attr": ("service.name",),
}
"""Attribute keys, looked up both as flat `attributes.<key>` and nested `attributes` -> key."""

CONTENT_KEYS = (A.INPUT_VALUE, A.OUTPUT_VALUE)
MESSAGE_KEYS = tuple(
    f"{prefix}.{i}.message.content" for prefix in (A.LLM_INPUT_MESSAGES, A.LLM_OUTPUT_MESSAGES) for i in range(16)
)
"""Bulky content: kept as bounded previews, left out of `metadata`."""


def _path(spec: str) -> list[str]:
    """`a.b` is one dotted key; `a.b@nested` is the path a -> b."""
    return spec.removesuffix("@nested").split(".") if spec.endswith("@nested") else [spec]


def record_structure(nested: bool = True) -> tuple[dict, dict[str, list[str]]]:
    """The JSON structure to parse each record into (one parse for every field), and for
    each field the struct accessors to coalesce, best first. Without `nested`, only the
    flat layout's keys: a smaller struct that parses much faster."""
    structure: dict = {}
    accessors: dict[str, list[str]] = {}

    def add(field: str, path: list[str]) -> None:
        node = structure
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = "VARCHAR"
        accessors.setdefault(field, []).append("v" + "".join(f"['{part}']" for part in path))

    for field, specs in TOP_LEVEL.items():
        for spec in specs:
            if nested or not spec.endswith("@nested"):
                add(field, _path(spec))
    for field, keys in ATTRIBUTES.items():
        for key in keys:
            add(field, [f"attributes.{key}"])
            if nested:
                add(field, ["attributes", key])
    return structure, accessors


OBJECT_KEYS = ("attributes", "context", "status")
NESTED_MARKER = r'"(attributes|context|status)"\s*:\s*\{'
"""A record in a nested layout has one of these keys (OBJECT_KEYS) holding an object."""


PACKED_MARKER = r'"attributes"\s*:\s*"|"(llm|openinference|session|user|input|output|tool)"\s*:\s*\{'
"""In a record whose `attributes` are packed as one JSON string (a Phoenix database row exported
as is), or nested key by key (`{"llm": {"model_name": …}}`, as Phoenix stores them); and in few others."""


def _flattened(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Dotted keys down to the leaves, through lists of objects as Phoenix's REST API does."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _flattened(inner, f"{prefix}.{key}")
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for i, inner in enumerate(value):
            yield from _flattened(inner, f"{prefix}.{i}")
    else:
        yield prefix, value


def unpacked(doc: str) -> str | None:
    """The record with its packed or key-by-key nested `attributes` as one object of dotted keys
    (the Phoenix REST layout); None when it has neither."""
    try:
        record = json.loads(doc)
    except (ValueError, RecursionError):
        return None  # the normalizer says what is wrong with it
    attributes = record.get("attributes") if isinstance(record, dict) else None
    if isinstance(attributes, str):
        try:
            attributes = json.loads(attributes)
        except (ValueError, RecursionError):
            return None
    if not isinstance(attributes, dict):
        return None
    # `metadata` stays one object: the normalizer reads LiteLLM's keys inside it
    flat = {k: v for key, inner in attributes.items()
            for k, v in ([(key, inner)] if key == A.METADATA else _flattened(inner, str(key)))}
    return json.dumps({**record, "attributes": flat})


MESSAGE_MARKER = ".message.content"
"""In every record holding one of MESSAGE_KEYS (and in few others)."""


IN_COLUMNS = ("span_id", "trace_id", "parent_id", "name", "span_kind", "start_time", "end_time", "status_code")
"""Top-level fields a span's own columns hold as they were (ids, name, kind, times to the
microsecond, status): `metadata` need not repeat them. Half a flat record's compressed size
(random ids and times); the raw model names among the attributes stay."""

IN_COLUMN_ATTRIBUTES = (A.LLM_TOKEN_COUNT_PROMPT, A.LLM_TOKEN_COUNT_COMPLETION,
                        A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE)
"""Attributes the token columns hold: each is the first place its column looks, so when present it
is the value the column holds (token counts are whole numbers). A tenth of a synthetic span file."""

DERIVED_ATTRIBUTES = (A.LLM_TOKEN_COUNT_TOTAL,)
"""Left out of `metadata` only where the columns give it back (the total equals prompt plus
completion tokens); a total that says something else stays."""


def _attribute_patch(keys: tuple[str, ...], nested: bool) -> dict:
    """A merge patch deleting these attribute keys in the flat layout (and the nested one)."""
    patch: dict = {f"attributes.{key}": None for key in keys}
    if nested:
        patch["attributes"] = {key: None for key in keys}
    return patch


def derived_patch(nested: bool = True) -> dict:
    """The merge patch that deletes DERIVED_ATTRIBUTES, for records whose columns give them back."""
    return _attribute_patch(DERIVED_ATTRIBUTES, nested)


def content_patch(messages: bool = True, nested: bool = True) -> dict:
    """A JSON merge patch that deletes from a record what `metadata` leaves out: bulky content
    (kept as bounded previews) and what the columns hold (IN_COLUMNS, IN_COLUMN_ATTRIBUTES).
    Without `messages`, only CONTENT_KEYS of the content: for a record without MESSAGE_MARKER,
    the same result from a patch a twentieth the size (the patch is parsed again for every
    record). Without `nested`, the flat layout's keys alone: a merge patch adds every object it
    names, so a flat record would gain empty ones."""
    patch = _attribute_patch(CONTENT_KEYS + (MESSAGE_KEYS if messages else ()) + IN_COLUMN_ATTRIBUTES, nested)
    for field in IN_COLUMNS:
        for spec in TOP_LEVEL[field]:
            if spec.endswith("@nested") and not nested:
                continue
            *parents, key = _path(spec)
            node = patch
            for part in parents:
                node = node.setdefault(part, {})
            node[key] = None
    return patch
