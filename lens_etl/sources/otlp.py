"""OTLP/JSON (resourceSpans) -> records in the nested layout the normalizer reads.

A part that does not have the shape OTLP's JSON encoding gives it (a span that is not an object,
a status that is a string, an intValue that is not an integer, …) is kept as it was, with the
reason, so it becomes a dead letter instead of stopping the file.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Iterator

STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR", "STATUS_CODE_UNSET": "UNSET", "STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR"}


class MalformedOtlp(ValueError):
    """A part of an OTLP/JSON request is not shaped as the encoding says; the message says where."""


@dataclass(frozen=True)
class OtlpRecord:
    """One span as a nested-layout record, or a malformed part as it was with why (`problem`)."""

    record: Any
    problem: str | None = None


def _object(value: Any, where: str) -> dict[str, Any]:
    """An optional object field: absent is empty, anything but an object is malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedOtlp(f"{where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    """An optional repeated field: absent is empty, anything but an array is malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedOtlp(f"{where} is not an array")
    return value


def _integer(value: Any, where: str) -> int:
    """OTLP/JSON writes 64-bit integers as decimal strings (or numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise MalformedOtlp(f"{where} is not an integer: {str(value)[:40]}")


def any_value(value: Any, where: str = "value") -> Any:
    """Unwrap an OTLP AnyValue ({"stringValue": …}, {"arrayValue": {"values": …}}, …); a bare
    JSON value is kept as it is."""
    if not isinstance(value, dict):
        return value
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "arrayValue":
        return [any_value(v, f"{where}[{i}]") for i, v in enumerate(_list(_object(inner, where).get("values"), where))]
    if kind == "kvlistValue":
        return key_values(_object(inner, where).get("values"), where)
    if kind == "intValue":
        return _integer(inner, f"{where} intValue")
    return inner


def key_values(pairs: Any, where: str = "attributes") -> dict[str, Any]:
    """OTLP's [{"key": …, "value": AnyValue}, …] as a dict."""
    result: dict[str, Any] = {}
    for i, pair in enumerate(_list(pairs, where)):
        if not isinstance(pair, dict):
            raise MalformedOtlp(f"{where}[{i}] is not an object")
        key = pair.get("key")
        if not isinstance(key, str):
            raise MalformedOtlp(f"{where}[{i}].key is not a string")
        result[key] = any_value(pair.get("value"), f"{where} {key!r}")
    return result


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


def otlp_records(document: dict[str, Any]) -> Iterator[OtlpRecord]:
    """One nested-layout record per OTLP span, resource attributes kept alongside; a malformed
    span, or a malformed resource or scope around spans, is one record with its problem.
    Raises MalformedOtlp when `resourceSpans` itself is unusable."""
    for i, resource_spans in enumerate(_list(document.get("resourceSpans"), "resourceSpans")):
        try:
            resource, scopes = _resource_parts(resource_spans, f"resourceSpans[{i}]")
        except MalformedOtlp as exc:
            yield OtlpRecord(resource_spans, f"malformed OTLP: {exc}")
            continue
        for j, scope_spans in enumerate(scopes):
            try:
                scope, spans = _scope_parts(scope_spans, f"resourceSpans[{i}].scopeSpans[{j}]")
            except MalformedOtlp as exc:
                yield OtlpRecord(scope_spans, f"malformed OTLP: {exc}")
                continue
            for span in spans:
                try:
                    yield OtlpRecord(_record(span, resource, scope))
                except MalformedOtlp as exc:
                    yield OtlpRecord(span, f"malformed OTLP span: {exc}")


def _resource_parts(resource_spans: Any, where: str) -> tuple[dict[str, Any], list[Any]]:
    """A ResourceSpans' resource attributes and its scope groups."""
    resource_spans = _object(resource_spans, where)
    resource = _object(resource_spans.get("resource"), f"{where}.resource")
    attributes = key_values(resource.get("attributes"), f"{where}.resource.attributes")
    scopes = resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans")
    return attributes, _list(scopes, f"{where}.scopeSpans")


def _scope_parts(scope_spans: Any, where: str) -> tuple[str | None, list[Any]]:
    """A ScopeSpans' instrumentation scope name and its spans."""
    scope_spans = _object(scope_spans, where)
    scope = _object(scope_spans.get("scope"), f"{where}.scope").get("name")
    return scope, _list(scope_spans.get("spans"), f"{where}.spans")


def _status(span: dict[str, Any]) -> tuple[Any, Any]:
    """The span's status code as OK / ERROR / UNSET (or as written) and its message."""
    status = _object(span.get("status"), "status")
    code = status.get("code")
    if code is not None and not isinstance(code, (int, str)):
        raise MalformedOtlp("status.code is not a number or a name")
    return STATUS_CODES.get(code, code), status.get("message")


def _events(span: dict[str, Any]) -> list[dict[str, Any]]:
    events = []
    for i, event in enumerate(_list(span.get("events"), "events")):
        if not isinstance(event, dict):
            raise MalformedOtlp(f"events[{i}] is not an object")
        events.append({"name": event.get("name"), "timestamp": event.get("timeUnixNano"),
                       "attributes": key_values(event.get("attributes"), f"events[{i}].attributes")})
    return events


def _record(span: Any, resource: dict[str, Any], scope: str | None) -> dict[str, Any]:
    span = _object(span, "the span")
    attributes = key_values(span.get("attributes"))
    status_code, status_message = _status(span)
    record: dict[str, Any] = {
        "context": {"trace_id": hex_id(span.get("traceId")), "span_id": hex_id(span.get("spanId"))},
        "parent_id": hex_id(span.get("parentSpanId")) or None,
        "name": span.get("name"),
        "span_kind": attributes.get("openinference.span.kind"),
        "start_time": span.get("startTimeUnixNano"),
        "end_time": span.get("endTimeUnixNano"),
        "status_code": status_code,
        "status_message": status_message,
        "attributes": attributes,
        "events": _events(span),
        "scope.name": scope,
    }
    record.update({f"resource.attributes.{k}": v for k, v in resource.items()})
    return record
