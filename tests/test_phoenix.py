"""Phoenix source against a real Phoenix server: REST and database paths, incremental state,
failures, follow mode, and Lens's numbers against Phoenix's own GraphQL summary."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from lens_etl import follow as following
from lens_etl.__main__ import main
from lens_etl.config import Settings
from lens_etl.errors import SourceError
from lens_etl.follow import PhoenixSource, pull_phoenix
from lens_etl.sources import phoenix as phoenix_source
from lens_etl.sources.phoenix import Window
from lens_etl.state import WatermarkStore

from phoenix_server import PhoenixServer, SentSpan, claude_code_trace, free_port, phoenix_server, send_spans  # noqa: F401

MAIN = "lens-main"
T0 = time.time_ns() - 2 * 3600 * 10**9  # two hours ago
COMPARED = ("span_id", "trace_id", "parent_span_id", "name", "span_kind", "status", "error_message", "tool_name",
            "session_id", "developer_id", "tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens", "model")


def settings_for(data_dir: Path, url: str | None = None, projects: list[str] | None = None) -> Settings:
    sources = {"phoenix": {"url": url, "projects": projects or [MAIN], "retries": 1}} if url else {}
    return Settings(data_dir=data_dir, sources=sources, env={})


def cli(tmp_path: Path, *args: str) -> int:
    """The CLI with a config of its own (no identity file, no sources)."""
    config = tmp_path / "lens.toml"
    config.write_text("[lens]\nproject = 'default'\n")
    return main(["--data-dir", str(tmp_path), "--config", str(config), *args])


def turns(first: int, count: int, start_ns: int = T0) -> list[SentSpan]:
    return [s for i in range(first, first + count) for s in claude_code_trace(i, start_ns + i * 10**10, f"sess-{i // 10}")]


@pytest.fixture(scope="module")
def sent(phoenix_server: PhoenixServer) -> list[SentSpan]:
    """About 200 spans in MAIN: LLM calls, Edit/Read tools, failed Bash calls with exceptions."""
    spans = turns(0, 60)
    send_spans(phoenix_server.url, MAIN, spans)
    phoenix_server.wait_for_spans(MAIN, len(spans))
    return spans


def lake_rows(data_dir: Path, project: str | None = None) -> dict[str, dict[str, object]]:
    con = duckdb.connect(str(data_dir / "lens.duckdb"), read_only=True)
    try:
        where = "WHERE project = ?" if project else ""
        cur = con.execute(f"SELECT * FROM spans {where}", [project] if project else [])
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}
    finally:
        con.close()


def expected(span: SentSpan) -> dict[str, object]:
    attrs = span.attributes
    is_llm = span.kind == "LLM"
    return {
        "span_id": span.span_id, "trace_id": span.trace_id, "parent_span_id": span.parent_id, "name": span.name,
        "span_kind": span.kind, "status": "ERROR" if span.error else "OK", "error_message": span.error,
        "tool_name": span.tool, "session_id": span.session_id, "developer_id": "acct-1",
        "tokens_in": attrs.get("llm.token_count.prompt"), "tokens_out": attrs.get("llm.token_count.completion"),
        "cache_read_tokens": attrs.get("llm.token_count.prompt_details.cache_read"),
        "cache_write_tokens": attrs.get("llm.token_count.prompt_details.cache_write"),
        "model": "claude-sonnet-4-5" if is_llm else None,
    }


def assert_same_as_sent(rows: dict[str, dict[str, object]], spans: list[SentSpan]) -> None:
    assert set(rows) == {s.span_id for s in spans}
    for span in spans:
        row = rows[span.span_id]
        got = {k: row[k] for k in COMPARED}
        want = expected(span)
        if want["model"] and got["model"] != want["model"]:
            want["model"] = got["model"]  # the normalizer's model naming is tested elsewhere
            assert str(got["model"]).startswith("claude-sonnet-4-5")
        assert got == want, span.span_id
        assert row["start_time"].timestamp() * 1e9 == pytest.approx(span.start_ns, abs=1000)
        assert row["latency_ms"] == pytest.approx((span.end_ns - span.start_ns) / 1e6, abs=0.01)


def test_servers_listen_on_loopback_only(phoenix_server: PhoenixServer) -> None:
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line.split()[3] for line in listening
            if line.split()[3].rsplit(":", 1)[1] in {str(phoenix_server.http_port), str(phoenix_server.grpc_port)}]
    assert len(ours) == 2, listening
    assert all(addr.rsplit(":", 1)[0] in {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]"} for addr in ours), ours


def test_rest_ingest_pages_through_everything_span_for_span(
    phoenix_server: PhoenixServer, sent: list[SentSpan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(phoenix_source, "PAGE_LIMIT", 37)  # many pages, the last one partial
    settings = settings_for(tmp_path, phoenix_server.url)
    [summary] = pull_phoenix(settings, PhoenixSource(phoenix_server.url, (MAIN,)))
    assert (summary.read, summary.written, summary.dead_letters) == (len(sent), len(sent), 0)
    assert_same_as_sent(lake_rows(tmp_path), sent)


def test_database_path_gives_the_same_rows_as_rest(phoenix_server: PhoenixServer, sent: list[SentSpan], tmp_path: Path) -> None:
    api, db = tmp_path / "api", tmp_path / "db"
    pull_phoenix(settings_for(api), PhoenixSource(phoenix_server.url, (MAIN,)))
    [summary] = pull_phoenix(settings_for(db), PhoenixSource("", (MAIN,), f"sqlite:///{phoenix_server.db_path}"))
    assert (summary.read, summary.written) == (len(sent), len(sent))
    from_db, from_api = lake_rows(db), lake_rows(api)
    assert_same_as_sent(from_db, sent)
    volatile = {"run_id", "ingested_at"}

    def comparable(row: dict) -> dict:
        # metadata is the record's JSON: the same keys and values, in each source's key order
        return {k: json.loads(v) if k == "metadata" else v for k, v in row.items() if k not in volatile}

    for span_id, row in from_api.items():
        assert comparable(from_db[span_id]) == comparable(row)


@pytest.mark.parametrize("path", ["rest", "db"])
def test_incremental_pulls_only_new_spans_and_catches_late_ones(phoenix_server: PhoenixServer, tmp_path: Path, path: str) -> None:
    project = f"lens-inc-{path}"
    base = 1000 if path == "rest" else 2000
    source = PhoenixSource(phoenix_server.url, (project,), f"sqlite:///{phoenix_server.db_path}" if path == "db" else None)
    settings = settings_for(tmp_path)
    first = turns(base, 4)
    send_spans(phoenix_server.url, project, first)
    phoenix_server.wait_for_spans(project, len(first))
    [run1] = pull_phoenix(settings, source)
    assert run1.read == len(first)

    later = turns(base + 4, 2)
    late = claude_code_trace(base + 50, T0 - 5 * 60 * 10**9, "sess-late")  # started before everything else
    send_spans(phoenix_server.url, project, later + late)
    phoenix_server.wait_for_spans(project, len(first) + len(later) + len(late))
    [run2] = pull_phoenix(settings, source)
    assert (run2.read, run2.written, run2.duplicates) == (len(later) + len(late), len(later) + len(late), 0)
    [run3] = pull_phoenix(settings, source)
    assert run3.read == 0
    assert_same_as_sent(lake_rows(tmp_path, project), first + later + late)

    # --since overrides the watermark and overlaps are free: nothing duplicates
    [again] = pull_phoenix(settings, source, Window(since=following.parse_when("2000-01-01")))
    assert (again.read, again.written, again.duplicates) == (len(first + later + late), 0, len(first + later + late))


def test_wrong_project_is_one_line_error(phoenix_server: PhoenixServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli(tmp_path, "ingest", "phoenix", "--url", phoenix_server.url, "--project", "no-such-project")
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"lens: error: phoenix at {phoenix_server.url}: project 'no-such-project' not found"
    db_source = PhoenixSource("", ("no-such-project",), f"sqlite:///{phoenix_server.db_path}")
    with pytest.raises(SourceError, match="project 'no-such-project' not found"):
        pull_phoenix(settings_for(tmp_path), db_source)


def test_server_down_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceError) as caught:
        pull_phoenix(settings_for(tmp_path), PhoenixSource(url, (MAIN,), retries=1))
    assert str(caught.value) == f"phoenix at {url}: connection refused (after 2 tries)"
    missing = tmp_path / "missing.db"
    assert cli(tmp_path, "ingest", "phoenix", "--db", f"sqlite:///{missing}", "--project", MAIN) == 2
    assert capsys.readouterr().err.strip() == f"lens: error: phoenix database sqlite:///{missing}: no such file"


def test_ingest_all_without_sources_says_how_to_configure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, "ingest", "all") == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "[sources.phoenix]" in err


def test_totals_agree_with_phoenix_graphql_summary(phoenix_server: PhoenixServer, sent: list[SentSpan], tmp_path: Path) -> None:
    pull_phoenix(settings_for(tmp_path), PhoenixSource(phoenix_server.url, (MAIN,)))
    query = """{ projects { edges { node { name
        recordCount tokenCountPrompt tokenCountCompletion tokenCountTotal
        p50: spanLatencyMsQuantile(probability: 0.5) p95: spanLatencyMsQuantile(probability: 0.95)
        traceP50: latencyMsQuantile(probability: 0.5) } } } }"""
    edges = phoenix_server.graphql(query)["projects"]["edges"]
    node = next(e["node"] for e in edges if e["node"]["name"] == MAIN)
    con = duckdb.connect(str(tmp_path / "lens.duckdb"), read_only=True)
    count, prompt, completion, p50, p95 = con.execute(
        "SELECT count(*), sum(tokens_in), sum(tokens_out), quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95)"
        " FROM spans WHERE project = ?", [MAIN]).fetchone()
    traces = con.execute(
        "SELECT quantile_cont(ms, 0.5) FROM (SELECT date_diff('microsecond', min(start_time), max(end_time)) / 1000.0 AS ms"
        " FROM spans WHERE project = ? GROUP BY trace_id)", [MAIN]).fetchone()[0]
    con.close()
    assert (count, prompt, completion, prompt + completion) == (
        node["recordCount"], node["tokenCountPrompt"], node["tokenCountCompletion"], node["tokenCountTotal"])
    assert p50 == pytest.approx(node["p50"], rel=0.02)
    assert p95 == pytest.approx(node["p95"], rel=0.02)
    assert traces == pytest.approx(node["traceP50"], rel=0.02)


def test_follow_mode_picks_up_new_spans_and_survives_a_bad_source(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    project = "lens-follow"
    bad = f"http://127.0.0.1:{free_port()}"
    settings = Settings(data_dir=tmp_path, env={}, sources={"phoenix": [
        {"url": phoenix_server.url, "projects": [project], "retries": 0},
        {"url": bad, "projects": [project], "retries": 0},
    ]})
    lines: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=following.follow, args=(settings, 0.3, lines.append, stop))
    worker.start()
    try:
        spans = turns(3000, 2)
        send_spans(phoenix_server.url, project, spans)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (tmp_path / "lens.duckdb").exists() and len(lake_rows(tmp_path, project)) == len(spans):
                break
            time.sleep(0.2)
        assert len(lake_rows(tmp_path, project)) == len(spans)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert any(line == f"lens: poll failed, retrying in 0.3s: phoenix at {bad}: connection refused" for line in lines), lines[:5]


def test_server_stopped_mid_run_then_rerun_completes(
    phoenix_server: PhoenixServer, sent: list[SentSpan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Last in the file: it restarts the session's server."""
    monkeypatch.setattr(phoenix_source, "PAGE_LIMIT", 40)
    monkeypatch.setattr(phoenix_source, "REST_BATCH_ROWS", 40)
    real = following.rest_batches

    def stop_after_first(*args: object, **kwargs: object) -> Iterator[object]:
        for number, batch in enumerate(real(*args, **kwargs)):  # type: ignore[arg-type]
            yield batch
            if number == 0:
                phoenix_server.stop()

    monkeypatch.setattr(following, "rest_batches", stop_after_first)
    settings = settings_for(tmp_path)
    source = PhoenixSource(phoenix_server.url, (MAIN,), retries=1)
    with pytest.raises(SourceError) as caught:
        pull_phoenix(settings, source)
    assert str(caught.value) == f"phoenix at {phoenix_server.url}: connection refused (after 2 tries)"
    partial = lake_rows(tmp_path)
    assert 0 < len(partial) < len(sent)
    runs = duckdb.connect(str(tmp_path / "lens.duckdb"), read_only=True).execute(
        "SELECT status, error FROM ingest_runs").fetchall()
    assert runs == [("error", str(caught.value))]
    assert WatermarkStore(tmp_path / "state").get(source.key, MAIN).cursor is None

    monkeypatch.setattr(following, "rest_batches", real)
    phoenix_server.start()
    [summary] = pull_phoenix(settings, source)
    assert (summary.read, summary.written, summary.duplicates) == (len(sent), len(sent) - len(partial), len(partial))
    rows = lake_rows(tmp_path)
    assert set(rows) == {s.span_id for s in sent}
    assert [rows[s.span_id]["tokens_in"] for s in sent] == [s.attributes.get("llm.token_count.prompt") for s in sent]
    assert json.loads((tmp_path / "state" / "watermarks.json").read_text())
