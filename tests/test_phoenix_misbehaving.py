"""The Phoenix source against servers that are not quite Phoenix: a bad URL, odd pages, a cursor
that never ends, a plain web server. Each is one line (or dead letters), never a crash or a hang."""
from __future__ import annotations

import json
import logging
import socket
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from lens_etl.__main__ import main
from lens_etl.config import Settings
from lens_etl.errors import SourceError
from lens_etl.follow import PhoenixSource, pull_phoenix
from lens_etl.sources.phoenix import PhoenixClient
from lens_etl.state import WatermarkStore

PROJECT = "default"
SPANS_PATH = f"/v1/projects/{PROJECT}/spans"
# (status, headers, body) for a request's path and query
Route = Callable[[str, dict[str, list[str]]], tuple[int, dict[str, str], bytes]]


def span(span_id: str, start: Any) -> dict[str, Any]:
    """A span as Phoenix's REST API returns it, with its row id."""
    return {"id": f"row-{span_id}", "name": "litellm_request", "span_kind": "LLM", "context": {"trace_id": "t1", "span_id": span_id},
            "start_time": start, "end_time": start, "status_code": "OK", "attributes": {"llm.model_name": "claude-sonnet-4-5"}}


def page(data: list[Any], next_cursor: Any = None) -> tuple[int, dict[str, str], bytes]:
    return 200, {"content-type": "application/json"}, json.dumps({"data": data, "next_cursor": next_cursor}).encode()


@pytest.fixture
def serve() -> Iterator[Callable[[Route], str]]:
    """A tiny HTTP server on 127.0.0.1 answering through a route function; returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(route: Route) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                status, headers, body = route(parts.path, parse_qs(parts.query))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def pull(tmp_path: Path, url: str) -> list[Any]:
    return pull_phoenix(Settings(data_dir=tmp_path / "data", env={}), PhoenixSource(url, (PROJECT,), retries=0))


def cli(tmp_path: Path, *args: str) -> int:
    config = tmp_path / "lens.toml"
    config.write_text("[lens]\nproject = 'default'\n")
    return main(["--data-dir", str(tmp_path / "data"), "--config", str(config), *args])


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:notaport", "127.0.0.1:6006", "ftp://example.com"])
def test_a_bad_url_is_one_line(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, "ingest", "phoenix", "--url", url, "--project", PROJECT) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"phoenix at {url}: not a valid URL" in err


def test_items_that_are_not_spans_become_dead_letters(tmp_path: Path, serve: Callable[[Route], str]) -> None:
    url = serve(lambda path, query: page([1, "x", span("s1", "2026-01-05T10:00:00+00:00")]))
    [summary] = pull(tmp_path, url)
    assert (summary.read, summary.written, summary.dead_letters) == (3, 1, 2)


def test_a_numeric_start_time_does_not_stop_the_pull(tmp_path: Path, serve: Callable[[Route], str]) -> None:
    epoch_ms = 1_767_607_200_000  # 2026-01-05T10:00:00Z
    url = serve(lambda path, query: page([span("s1", epoch_ms), span("s2", "2026-01-05T09:00:00+00:00")]))
    [summary] = pull(tmp_path, url)
    assert summary.read == 2
    mark = WatermarkStore(tmp_path / "data" / "state").get(url, PROJECT)
    assert mark.start_time == "2026-01-05T10:00:00+00:00" and mark.cursor == "row-s2"


def test_a_cursor_that_repeats_stops_with_one_line(tmp_path: Path, serve: Callable[[Route], str]) -> None:
    calls: list[str] = []

    def same_cursor(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        calls.append(path)
        return page([span(f"s{len(calls)}", "2026-01-05T10:00:00+00:00")], next_cursor="again")

    url = serve(same_cursor)
    with pytest.raises(SourceError) as caught:
        pull(tmp_path, url)
    assert str(caught.value) == f"phoenix at {url}: answered next_cursor 'again' a second time; stopped instead of looping"
    assert len(calls) == 2


def test_a_plain_web_server_is_not_a_missing_project(tmp_path: Path, serve: Callable[[Route], str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = serve(lambda path, query: (404, {"content-type": "text/html"}, b"<h1>Not Found</h1>"))
    assert cli(tmp_path, "ingest", "phoenix", "--url", url, "--project", PROJECT) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lens: error: phoenix at {url}: not a Phoenix server (GET {SPANS_PATH} answered HTTP 404)"


def test_a_phoenix_behind_a_proxy_that_drops_its_header_still_says_the_project_is_missing(
        tmp_path: Path, serve: Callable[[Route], str]) -> None:
    def projects_only(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        return page([{"name": "other", "id": "UHJvamVjdDox"}]) if path == "/v1/projects" else (404, {}, b"Project not found")

    url = serve(projects_only)
    with pytest.raises(SourceError, match=f"project '{PROJECT}' not found"):
        pull(tmp_path, url)


def test_a_server_that_never_answers_says_so_at_each_try(caplog: pytest.LogCaptureFixture) -> None:
    """Each try waits out its timeout: the user hears of every one, not minutes of silence."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    try:
        with caplog.at_level(logging.WARNING, logger="lens.phoenix"):
            with PhoenixClient(url, timeout_s=0.2, retries=2, backoff_s=0.01) as client:
                with pytest.raises(SourceError, match=f"phoenix at {url}: timed out \\(after 3 tries\\)"):
                    client.get_json(SPANS_PATH, {}, PROJECT)
    finally:
        silent.close()
    assert [r.getMessage() for r in caplog.records] == [
        f"lens: phoenix at {url}: timed out; trying again in 0.01s (try 2 of 3)",
        f"lens: phoenix at {url}: timed out; trying again in 0.02s (try 3 of 3)",
    ]


def test_a_page_too_large_to_answer_in_time_is_asked_again_smaller(tmp_path: Path, serve: Callable[[Route], str],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A server that cannot build a page of many large spans within the timeout never will: asking
    the same page again only fails again, so each timed-out page is asked for a quarter as many."""
    spans = [span(f"s{i}", f"2026-01-05T10:00:{i:02d}+00:00") for i in range(12)]
    asked: list[int] = []

    def slow_when_large(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        limit = int(query["limit"][0])
        asked.append(limit)
        if limit > 3:
            time.sleep(1.0)  # longer than the client waits
        start = int(query.get("cursor", ["row-s0"])[0].removeprefix("row-s"))
        rest = spans[start:]
        more = len(rest) > limit
        return page(rest[:limit], next_cursor=f"row-s{start + limit}" if more else None)

    url = serve(slow_when_large)
    settings = Settings(data_dir=tmp_path / "data", env={})
    with caplog.at_level(logging.WARNING, logger="lens.phoenix"):
        [summary] = pull_phoenix(settings, PhoenixSource(url, (PROJECT,), timeout_s=0.3, retries=0))
    assert (summary.read, summary.written) == (12, 12)
    assert asked[:2] == [20, 5] and asked[2] == 1 and set(asked[3:]) <= {1, 3}, asked
    assert f"lens: phoenix at {url}: a page of 20 spans timed out; asking for 5 at a time" in caplog.text
