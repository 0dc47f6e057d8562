"""Where each raw field lives in every accepted layout, by OpenInference attribute name.

A raw record is one JSON object in any of these layouts: flat dotted columns
(`attributes.llm.model_name`, Arize export / Phoenix dataframe), a nested `attributes`
object with dotted keys (Phoenix REST, converted OTLP), or LiteLLM's JSON-string
`metadata`. The normalizer reads every field below with one JSON parse per record.
"""
from __future__ import annotations

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
}
"""Top-level keys; `a.b@nested` means the path a -> b rather than the key "a.b"."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "kind_attr": (A.OPENINFERENCE_SPAN_KIND,),
    "model": (A.LLM_MODEL_NAME, A.LLM_RESPONSE_MODEL_NAME, A.LLM_REQUEST_MODEL_NAME, "gen_ai.request.model"),
    "provider": (A.LLM_PROVIDER, A.LLM_SYSTEM, "gen_ai.system"),
    "tokens_in": (A.LLM_TOKEN_COUNT_PROMPT, "gen_ai.usage.input_tokens"),
    "tokens_out": (A.LLM_TOKEN_COUNT_COMPLETION, "gen_ai.usage.output_tokens"),
    "cache_read": (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ, "metadata." + LITELLM_CACHE_READ),
    "cache_write": (A.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE, "metadata." + LITELLM_CACHE_WRITE),
    "cost_total": (A.LLM_COST_TOTAL,),
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

CONTENT_KEYS = (A.INPUT_VALUE, A.OUTPUT_VALUE, A.LLM_INPUT_MESSAGES, A.LLM_OUTPUT_MESSAGES)
"""Bulky content: kept as bounded previews, left out of `metadata`."""

CORE_TOP_LEVEL = (
    "context", "context.span_id", "context.trace_id", "parent_id", "name", "span_kind",
    "start_time", "end_time", "status_code", "status_message", "attributes",
)
"""Top-level keys that become columns; every other top-level key is kept in `metadata`."""


def json_path(spec: str) -> str:
    """`a.b` -> `$."a.b"` (one dotted key); `a.b@nested` -> `$."a"."b"` (a path)."""
    if spec.endswith("@nested"):
        return "$." + ".".join(f'"{part}"' for part in spec.removesuffix("@nested").split("."))
    return f'$."{spec}"'


def record_paths() -> tuple[list[str], dict[str, list[int]]]:
    """All JSON paths read from a record, and for each field the (1-based) list slots."""
    paths: list[str] = []
    slots: dict[str, list[int]] = {}

    def add(field: str, path: str) -> None:
        paths.append(path)
        slots.setdefault(field, []).append(len(paths))

    for field, specs in TOP_LEVEL.items():
        for spec in specs:
            add(field, json_path(spec))
    for field, keys in ATTRIBUTES.items():
        for key in keys:
            add(field, f'$."attributes.{key}"')
            add(field, f'$."attributes"."{key}"')
    return paths, slots
