"""A real Phoenix server for tests and the benchmark, kept on 127.0.0.1, fed over OTLP/HTTP.

Run as a script it is the launcher: Phoenix's OTLP gRPC server binds `[::]` whatever
PHOENIX_HOST says, so the launcher rewrites that address to loopback before serving.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

LAUNCHER = Path(__file__).resolve()
START_TIMEOUT_S = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PhoenixServer:
    """One `phoenix serve` subprocess with its SQLite file in `workdir`."""

    workdir: Path
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "phoenix.db"

    def start(self) -> "PhoenixServer":
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(self.workdir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.http_port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_LOGGING_LEVEL": "warning",
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "server.log").open("ab")
        self.process = subprocess.Popen([sys.executable, str(LAUNCHER)], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"phoenix exited with {self.process.returncode}; see {self.workdir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"phoenix did not start in {START_TIMEOUT_S:.0f}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(json.dumps(body["errors"])[:500])
        return body["data"]

    def project_id(self, project: str) -> str | None:
        """A project's id: a name with a slash cannot be part of a path."""
        projects = httpx.get(f"{self.url}/v1/projects", params={"limit": 1000}, timeout=30).json()["data"]
        return next((p["id"] for p in projects if p["name"] == project), None)

    def span_count(self, project: str) -> int:
        total = 0
        cursor: str | None = None
        identifier = self.project_id(project) if "/" in project else project
        if identifier is None:
            return 0
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = httpx.get(f"{self.url}/v1/projects/{identifier}/spans", params=params, timeout=30)
            if response.status_code == 404:
                return 0
            body = response.json()
            total += len(body["data"])
            cursor = body.get("next_cursor")
            if not cursor:
                return total

    def wait_for_spans(self, project: str, count: int, timeout_s: float = 60.0) -> None:
        """Ingestion is asynchronous: poll until `count` spans are queryable."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            seen = self.span_count(project)
            if seen >= count:
                return
            time.sleep(0.3)
        raise RuntimeError(f"phoenix stored {seen} of {count} spans in {project} within {timeout_s:.0f}s")


def running_server(workdir: Path) -> Iterator[PhoenixServer]:
    server = PhoenixServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def phoenix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """One real Phoenix server per test session."""
    yield from running_server(tmp_path_factory.mktemp("phoenix"))


@dataclass(frozen=True)
class SentSpan:
    """What a test sent, to compare span for span with what Lens stored."""

    span_id: str
    trace_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: str | None = None
    session_id: str | None = None
    tool: str | None = None


def claude_code_trace(index: int, start_ns: int, session: str, device: str = "dev-1", account: str = "acct-1") -> list[SentSpan]:
    """One Claude Code turn as LiteLLM traces it: an LLM call, an Edit and a Read tool, every
    seventh turn a failed Bash call with an exception event."""
    trace_id = f"{index + 1:032x}"
    root = f"{(index + 1) * 16 + 1:016x}"
    end_user = json.dumps({"device_id": device, "account_uuid": account, "session_id": session})
    prompt, completion, cache_read, cache_write = 1000 + index, 50 + index % 40, 600 + index % 300, 100 + index % 50
    llm_attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "claude-sonnet-4-5-20250929",
        "llm.provider": "anthropic",
        "llm.token_count.prompt": prompt,
        "llm.token_count.completion": completion,
        "llm.token_count.total": prompt + completion,
        "llm.token_count.prompt_details.cache_read": cache_read,
        "llm.token_count.prompt_details.cache_write": cache_write,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": f"fix the failing test number {index}",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Editing the file now.",
        "metadata": json.dumps({"user_api_key_end_user_id": end_user, "repo": "lens",
                                "usage_object": {"cache_read_input_tokens": cache_read,
                                                 "cache_creation_input_tokens": cache_write}}),
    }
    ms = 1_000_000
    spans = [SentSpan(root, trace_id, None, "litellm_request", "LLM", start_ns, start_ns + (800 + index % 500) * ms,
                      llm_attrs, session_id=session)]
    for offset, tool, params in ((1, "Edit", {"file_path": "app.py", "old_string": "a", "new_string": "b"}),
                                 (2, "Read", {"file_path": "README.md"})):
        tool_input = json.dumps({"id": f"toolu_{index}_{offset}", "name": tool, "input": params})
        attrs = {"openinference.span.kind": "TOOL", "tool.name": tool, "input.value": tool_input,
                 "tool.parameters": json.dumps(params)}
        t0 = start_ns + (900 + 100 * offset) * ms
        spans.append(SentSpan(f"{(index + 1) * 16 + 1 + offset:016x}", trace_id, root, f"Claude_Code_Tool_{tool}",
                              "TOOL", t0, t0 + (20 + offset * 7) * ms, attrs, session_id=session, tool=tool))
    if index % 7 == 3:
        attrs = {"openinference.span.kind": "TOOL", "tool.name": "Bash",
                 "input.value": json.dumps({"id": f"toolu_{index}_9", "name": "Bash", "input": {"command": "pytest"}})}
        t0 = start_ns + 1300 * ms
        spans.append(SentSpan(f"{(index + 1) * 16 + 9:016x}", trace_id, root, "Claude_Code_Tool_Bash", "TOOL",
                              t0, t0 + 3000 * ms, attrs, error="exit code 1: 3 tests failed", session_id=session, tool="Bash"))
    return spans


def send_spans(url: str, project: str, spans: list[SentSpan]) -> None:
    """Export through the OpenTelemetry SDK's OTLP/HTTP exporter, as LiteLLM does."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    resource = Resource.create({"openinference.project.name": project, "service.name": "litellm"})
    readable = []
    for span in spans:
        trace_id = int(span.trace_id, 16)
        context = SpanContext(trace_id, int(span.span_id, 16), False, TraceFlags(1))
        parent = SpanContext(trace_id, int(span.parent_id, 16), False, TraceFlags(1)) if span.parent_id else None
        events = []
        status = Status(StatusCode.OK)
        if span.error:
            status = Status(StatusCode.ERROR, span.error)
            events.append(Event("exception", {"exception.type": "ToolError", "exception.message": span.error,
                                              "exception.stacktrace": "Traceback: ToolError"}, timestamp=span.end_ns))
        readable.append(ReadableSpan(span.name, context, parent, resource, span.attributes, events,
                                     kind=SpanKind.INTERNAL, status=status, start_time=span.start_ns, end_time=span.end_ns))
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=30)
    try:
        for start in range(0, len(readable), 200):
            if exporter.export(readable[start : start + 200]) is not SpanExportResult.SUCCESS:
                raise RuntimeError(f"OTLP export to {url} failed")
    finally:
        exporter.shutdown()


def _serve_on_loopback() -> None:
    import grpc.aio._server as grpc_server

    original = grpc_server.Server.add_insecure_port

    def add_insecure_port(self: Any, address: str) -> int:
        return original(self, address.replace("[::]", "127.0.0.1"))

    grpc_server.Server.add_insecure_port = add_insecure_port  # type: ignore[method-assign]
    sys.argv = ["phoenix", "serve"]
    from phoenix.server.main import main

    main()


if __name__ == "__main__":
    _serve_on_loopback()
