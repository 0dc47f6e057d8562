"""OTLP/JSON (resourceSpans) -> records in the nested layout the normalizer reads."""
from __future__ import annotations

import base64
import binascii
from typing import Any, Iterator

STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR", "STATUS_CODE_UNSET": "UNSET", "STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR"}


def any_value(value: dict[str, Any] | None) -> Any:
    """Unwrap an OTLP AnyValue ({"stringValue": …}, {"arrayValue": {"values": …}}, …)."""
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "arrayValue":
        return [any_value(v) for v in (inner or {}).get("values", [])]
    if kind == "kvlistValue":
        return key_values((inner or {}).get("values", []))
    if kind == "intValue":
        return int(inner)
    return inner


def key_values(pairs: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {pair.get("key"): any_value(pair.get("value")) for pair in pairs or [] if isinstance(pair, dict)}


def hex_id(value: Any) -> Any:
    """OTLP/JSON ids are hex; protobuf's JSON mapping writes base64: accept both."""
    if not isinstance(value, str) or not value:
        return value
    try:
        int(value, 16)
        return value.lower()
    except ValueError:
        try:
            return base64.b64decode(value, validate=True).hex()
        except (binascii.Error, ValueError):
            return value


def otlp_records(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One nested-layout record per OTLP span, resource attributes kept alongside."""
    for resource_spans in document.get("resourceSpans") or []:
        resource = key_values((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []:
            scope = (scope_spans.get("scope") or {}).get("name")
            for span in scope_spans.get("spans") or []:
                yield _record(span, resource, scope)


def _record(span: dict[str, Any], resource: dict[str, Any], scope: str | None) -> dict[str, Any]:
    attributes = key_values(span.get("attributes"))
    status = span.get("status") or {}
    record: dict[str, Any] = {
        "context": {"trace_id": hex_id(span.get("traceId")), "span_id": hex_id(span.get("spanId"))},
        "parent_id": hex_id(span.get("parentSpanId")) or None,
        "name": span.get("name"),
        "span_kind": attributes.get("openinference.span.kind"),
        "start_time": span.get("startTimeUnixNano"),
        "end_time": span.get("endTimeUnixNano"),
        "status_code": STATUS_CODES.get(status.get("code"), status.get("code")),
        "status_message": status.get("message"),
        "attributes": attributes,
        "events": [
            {"name": e.get("name"), "timestamp": e.get("timeUnixNano"), "attributes": key_values(e.get("attributes"))}
            for e in span.get("events") or []
        ],
        "scope.name": scope,
    }
    record.update({f"resource.attributes.{k}": v for k, v in resource.items()})
    return record
