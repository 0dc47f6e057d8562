"""A stand-in for Arize AX's Arrow Flight export endpoint, on 127.0.0.1, for tests.

It answers what the real `arize` SDK sends: `get_flight_info` with the JSON query
descriptor (space, project, TRACING, whole-second window, filter, columns), then `do_get`
on the returned ticket, streaming flat span columns as the export has them. The API key
arrives as the `auth-token-bin` header. Every query is recorded for assertions.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import flight

API_KEY = "ak-standin-key"
SPACE_ID = "U3BhY2U6c3RhbmRpbg=="
PROJECT = "claude-code"
BATCH_ROWS = 7

SCHEMA = pa.schema(
    [
        ("context.span_id", pa.string()),
        ("context.trace_id", pa.string()),
        ("parent_id", pa.string()),
        ("name", pa.string()),
        ("span_kind", pa.string()),
        ("start_time", pa.int64()),
        ("end_time", pa.int64()),
        ("time", pa.timestamp("ms")),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("attributes.openinference.span.kind", pa.string()),
        ("attributes.llm.provider", pa.string()),
        ("attributes.llm.model_name", pa.string()),
        ("attributes.llm.token_count.prompt", pa.float64()),
        ("attributes.llm.token_count.completion", pa.float64()),
        ("attributes.llm.token_count.total", pa.float64()),
        ("attributes.llm.token_count.prompt_details.cache_read", pa.float64()),
        ("attributes.tool.name", pa.string()),
        ("attributes.input.value", pa.string()),
        ("attributes.output.value", pa.string()),
        ("attributes.metadata", pa.string()),
        ("attributes.user.id", pa.string()),
        ("attributes.llm.cost.total", pa.float64()),
    ]
)

NAN = float("nan")


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def spans_for_days(first: date, days: int, traces_per_day: int = 3) -> pa.Table:
    """Claude Code sessions through LiteLLM: per trace one LLM call and one tool span."""
    rows: list[dict[str, Any]] = []
    for d in range(days):
        day = first + timedelta(days=d)
        for t in range(traces_per_day):
            start = datetime(day.year, day.month, day.day, 2 + 7 * t, 15, tzinfo=timezone.utc)
            trace = f"{day:%Y%m%d}{t:02d}".ljust(32, "a")
            session = f"sess-{day:%m%d}-{t}"
            end_user = json.dumps({"device_id": "dev-1", "account_uuid": "acct-alice", "session_id": session})
            llm_id = f"{day:%m%d}{t:02d}11".ljust(16, "b")
            rows.append(
                {
                    "context.span_id": llm_id,
                    "context.trace_id": trace,
                    "parent_id": None,
                    "name": "litellm_request",
                    "span_kind": "LLM",
                    "start_time": _ms(start),
                    "end_time": _ms(start + timedelta(seconds=4)),
                    "time": start.replace(tzinfo=None),
                    "status_code": "OK",
                    "status_message": "",
                    "attributes.openinference.span.kind": "LLM",
                    "attributes.llm.provider": "anthropic",
                    "attributes.llm.model_name": "claude-sonnet-4-5-20250929",
                    "attributes.llm.token_count.prompt": 1000.0 + t,
                    "attributes.llm.token_count.completion": 200.0,
                    "attributes.llm.token_count.total": 1200.0 + t,
                    "attributes.llm.token_count.prompt_details.cache_read": NAN if t == 0 else 400.0,
                    "attributes.tool.name": None,
                    "attributes.input.value": "please fix the failing test",
                    "attributes.output.value": "done",
                    "attributes.metadata": json.dumps({"user_api_key_end_user_id": end_user}),
                    "attributes.user.id": None,
                    "attributes.llm.cost.total": NAN,
                }
            )
            rows.append(
                {
                    "context.span_id": f"{day:%m%d}{t:02d}22".ljust(16, "c"),
                    "context.trace_id": trace,
                    "parent_id": llm_id,
                    "name": "Claude_Code_Tool_Edit",
                    "span_kind": "TOOL",
                    "start_time": _ms(start + timedelta(seconds=5)),
                    "end_time": _ms(start + timedelta(seconds=6)),
                    "time": (start + timedelta(seconds=5)).replace(tzinfo=None),
                    "status_code": "OK",
                    "status_message": "",
                    "attributes.openinference.span.kind": "TOOL",
                    "attributes.llm.provider": None,
                    "attributes.llm.model_name": None,
                    "attributes.llm.token_count.prompt": NAN,
                    "attributes.llm.token_count.completion": NAN,
                    "attributes.llm.token_count.total": NAN,
                    "attributes.llm.token_count.prompt_details.cache_read": NAN,
                    "attributes.tool.name": "Edit",
                    "attributes.input.value": json.dumps({"type": "tool_use", "id": f"tu{t}", "name": "Edit", "input": {}}),
                    "attributes.output.value": "ok",
                    "attributes.metadata": "",
                    "attributes.user.id": None,
                    "attributes.llm.cost.total": NAN,
                }
            )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


@dataclass
class Query:
    """One get_flight_info the stand-in answered (or refused)."""

    space_id: str
    project: str
    environment: str
    start: datetime
    end: datetime
    where: str
    columns: list[str]
    api_key: str


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _query_of(command: bytes, api_key: str) -> Query:
    body = json.loads(command)
    return Query(
        space_id=body.get("spaceId", ""),
        project=body.get("modelId", ""),
        environment=body.get("environment", ""),
        start=_parse_time(body["startTime"]),
        end=_parse_time(body["endTime"]),
        where=body.get("filterExpression", ""),
        columns=list(body.get("projectedColumns", [])),
        api_key=api_key,
    )


class _AuthMiddleware(flight.ServerMiddleware):
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key


class _AuthFactory(flight.ServerMiddlewareFactory):
    """Reads the SDK's `auth-token-bin` header; a wrong key is refused before any work."""

    def __init__(self, server: "ArizeFlightStandin") -> None:
        self.server = server

    def start_call(self, info: flight.CallInfo, headers: dict[str, list[Any]]) -> _AuthMiddleware:
        values = headers.get("auth-token-bin") or [b""]
        key = values[0].decode() if isinstance(values[0], bytes) else str(values[0])
        if key != self.server.api_key:
            raise flight.FlightUnauthenticatedError("invalid API key")
        return _AuthMiddleware(key)


@dataclass
class StandinData:
    spans: pa.Table
    projects: set[tuple[str, str]] = field(default_factory=lambda: {(SPACE_ID, PROJECT)})
    fail_days: set[date] = field(default_factory=set)


class ArizeFlightStandin(flight.FlightServerBase):
    """Serves `data.spans` for the known (space, project) pairs, filtered by the query window."""

    def __init__(self, data: StandinData, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.data = data
        self.queries: list[Query] = []
        self._lock = threading.Lock()
        super().__init__("grpc+tcp://127.0.0.1:0", middleware={"auth": _AuthFactory(self)})

    def _window(self, query: Query) -> pa.Table:
        spans = self.data.spans
        start_ms, end_ms = _ms(query.start), _ms(query.end)
        mask = pc.and_(pc.greater_equal(spans["start_time"], start_ms), pc.less(spans["start_time"], end_ms))
        return spans.filter(mask)

    def get_flight_info(self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor) -> flight.FlightInfo:
        query = _query_of(descriptor.command, context.get_middleware("auth").api_key)
        with self._lock:
            self.queries.append(query)
        if (query.space_id, query.project) not in self.data.projects:
            raise flight.FlightServerError(f"model {query.project!r} not found in space {query.space_id!r}")
        rows = self._window(query)
        ticket = flight.Ticket(descriptor.command)
        endpoint = flight.FlightEndpoint(ticket, [])
        return flight.FlightInfo(SCHEMA, descriptor, [endpoint], rows.num_rows, -1)

    def do_get(self, context: flight.ServerCallContext, ticket: flight.Ticket) -> flight.FlightDataStream:
        query = _query_of(ticket.ticket, context.get_middleware("auth").api_key)
        batches = self._window(query).to_batches(max_chunksize=BATCH_ROWS)
        if query.start.date() in self.data.fail_days:
            return flight.GeneratorStream(SCHEMA, self._failing(batches))
        return flight.RecordBatchStream(pa.Table.from_batches(batches, schema=SCHEMA))

    @staticmethod
    def _failing(batches: list[pa.RecordBatch]) -> Any:
        """Half a day arrives, then the stream breaks: nothing of it may count as done."""
        yield from batches[:1]
        raise flight.FlightServerError("export stream interrupted")

    def queried_windows(self) -> list[tuple[datetime, datetime]]:
        with self._lock:
            return [(q.start, q.end) for q in self.queries]


def start_standin(data: StandinData, api_key: str = API_KEY) -> ArizeFlightStandin:
    """Listening on 127.0.0.1 at `server.port` once returned; `shutdown()` when done."""
    server = ArizeFlightStandin(data, api_key)
    threading.Thread(target=server.serve, daemon=True).start()
    return server
