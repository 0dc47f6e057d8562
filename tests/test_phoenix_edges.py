"""Incremental pulls from a real Phoenix server at their edges: a `--since` pull between two
incremental ones, a server whose database was recreated, spans of several MB, a missing
project among good ones, a source that is down among good ones, SIGTERM while following, and
the database path's attribute shapes against the REST API's."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pytest

from lens_etl import follow as following
from lens_etl.config import Settings
from lens_etl.errors import SourceError
from lens_etl.follow import PhoenixSource, pull_phoenix
from lens_etl.sources import phoenix as phoenix_source
from lens_etl.sources.phoenix import Window

from phoenix_server import (PhoenixServer, SentSpan, claude_code_trace, free_port, phoenix_server,  # noqa: F401
                            running_server, send_spans)

ROOT = Path(__file__).resolve().parent.parent
T0 = time.time_ns() - 3 * 3600 * 10**9  # three hours ago


def turns(first: int, count: int, start_ns: int = T0) -> list[SentSpan]:
    """`count` Claude Code turns ten seconds apart; `first` keeps span ids apart between tests."""
    return [s for i in range(first, first + count) for s in claude_code_trace(i, start_ns + i * 10**10, f"sess-{i // 10}")]


def sent_to(server: PhoenixServer, project: str, spans: list[SentSpan], already: int = 0) -> list[SentSpan]:
    send_spans(server.url, project, spans)
    server.wait_for_spans(project, already + len(spans))
    return spans


def span_ids(data_dir: Path, project: str) -> set[str]:
    con = duckdb.connect(str(data_dir / "lens.duckdb"), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT span_id FROM spans WHERE project = ?", [project]).fetchall()}
    finally:
        con.close()


def ids(spans: list[SentSpan]) -> set[str]:
    return {s.span_id for s in spans}


def at(start_ns: int) -> datetime:
    return datetime.fromtimestamp(start_ns / 1e9, timezone.utc)


@pytest.mark.parametrize("path", ["rest", "db"])
def test_a_since_pull_between_incremental_ones_loses_no_span(phoenix_server: PhoenixServer, tmp_path: Path, path: str) -> None:
    """`--since` reads only spans that started after it; the next incremental pull must still
    get the new spans that started before it (saving the window's position stepped over them)."""
    project = f"edges-since-{path}"
    base = 10_000 if path == "rest" else 11_000
    db = f"sqlite:///{phoenix_server.db_path}" if path == "db" else None
    source = PhoenixSource(phoenix_server.url, (project,), db)
    settings = Settings(data_dir=tmp_path, env={})
    first = sent_to(phoenix_server, project, turns(base, 3))
    [run1] = pull_phoenix(settings, source)
    assert run1.read == len(first)

    new = sent_to(phoenix_server, project, turns(base + 3, 6), already=len(first))
    cut = at(new[len(new) // 2].start_ns)
    [windowed] = pull_phoenix(settings, source, Window(since=cut))
    after_cut = [s for s in new if at(s.start_ns) >= cut]
    assert 0 < windowed.read == len(after_cut) < len(new)

    [run2] = pull_phoenix(settings, source)
    assert (run2.read, run2.written + run2.duplicates + run2.dead_letters) == (len(new), len(new))
    assert (run2.written, run2.duplicates) == (len(new) - len(after_cut), len(after_cut))
    assert span_ids(tmp_path, project) == ids(first + new)


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    """A server of this test's own: it is stopped and its database thrown away."""
    yield from running_server(tmp_path_factory.mktemp("phoenix-own"))


def test_a_recreated_phoenix_database_is_read_again_not_skipped(own_server: PhoenixServer, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """A Phoenix in a container without a volume starts with an empty database under the same URL
    and numbers its spans from 1 again: resuming after the old position would skip them."""
    project = "edges-recreated"
    settings = Settings(data_dir=tmp_path, env={})
    rest = PhoenixSource(own_server.url, (project,), retries=1)
    db = PhoenixSource("", (project,), f"sqlite:///{own_server.db_path}")
    before = sent_to(own_server, project, turns(12_000, 8))
    assert pull_phoenix(settings, rest)[0].read == len(before)
    assert pull_phoenix(settings, db)[0].read == len(before)

    own_server.stop()
    for leftover in own_server.workdir.glob("phoenix.db*"):
        leftover.unlink()
    own_server.start()
    fresh = sent_to(own_server, project, turns(12_100, 2, start_ns=time.time_ns() - 60 * 10**9))
    assert len(fresh) < len(before)  # the new ids stay below the saved position

    [by_rest] = pull_phoenix(settings, rest)
    [by_db] = pull_phoenix(settings, db)
    assert (by_rest.read, by_rest.written) == (len(fresh), len(fresh))
    assert (by_db.read, by_db.duplicates) == (len(fresh), len(fresh))
    assert span_ids(tmp_path, project) == ids(before + fresh)
    assert f"project '{project}' no longer holds the span read last" in caplog.text


def test_spans_of_several_mb_come_in_pages_that_fit(phoenix_server: PhoenixServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of 1000 raw requests of MBs each takes Phoenix minutes to build (every try timed
    out) and gigabytes to hold: pages shrink to what PAGE_BYTES holds once sizes are known."""
    project = "edges-whales"
    whales = []
    for span in turns(13_000, 12):
        if span.kind == "LLM":
            span = dataclasses.replace(span, attributes={**span.attributes, "input.value": "x" * 1_500_000 + span.span_id})
        whales.append(span)
    sent_to(phoenix_server, project, whales)
    monkeypatch.setattr(phoenix_source, "PAGE_BYTES", 4 * 2**20, raising=False)
    limits: list[int] = []
    real_get_page = phoenix_source.PhoenixClient.get_page

    def recording(self: phoenix_source.PhoenixClient, path: str, params: dict[str, Any], project: str) -> Any:
        limits.append(params["limit"])
        return real_get_page(self, path, params, project)

    monkeypatch.setattr(phoenix_source.PhoenixClient, "get_page", recording)
    [summary] = pull_phoenix(Settings(data_dir=tmp_path, env={}), PhoenixSource(phoenix_server.url, (project,)))
    assert (summary.read, summary.written, summary.dead_letters) == (len(whales), len(whales), 0)
    assert span_ids(tmp_path, project) == ids(whales)
    assert limits[0] == 20 and 0 < max(limits[1:]) <= 10, limits  # ~0.5 MB a span on average: 8 make 4 MB


def cli(data_dir: Path, config: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "lens.toml").write_text("[lens]\nproject = 'default'\n" + config)
    return subprocess.run([sys.executable, "-m", "lens_etl", "--data-dir", str(data_dir), "--config",
                           str(data_dir / "lens.toml"), *args], capture_output=True, text=True, cwd=ROOT, **kwargs)


def test_a_missing_project_does_not_keep_the_others_from_being_pulled(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    project = "edges-present"
    spans = sent_to(phoenix_server, project, turns(14_000, 2))
    done = cli(tmp_path, "", "ingest", "phoenix", "--url", phoenix_server.url, "--project", "edges-absent", "--project", project)
    assert done.returncode == 2
    assert done.stderr == f"lens: error: phoenix at {phoenix_server.url}: project 'edges-absent' not found\n"
    assert done.stdout.startswith(f"phoenix: read {len(spans)} · written {len(spans)} ")
    assert span_ids(tmp_path, project) == ids(spans)
    # the database path alike; its line is given as the run ends, before the error
    db = PhoenixSource("", ("edges-absent", project), f"sqlite:///{phoenix_server.db_path}")
    lines: list[str] = []
    with pytest.raises(SourceError, match="project 'edges-absent' not found"):
        pull_phoenix(Settings(data_dir=tmp_path / "db", env={}), db, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith(f"phoenix: read {len(spans)} ")
    assert span_ids(tmp_path / "db", project) == ids(spans)


def test_ingest_all_pulls_the_sources_after_one_that_is_down(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    project = "edges-all"
    spans = sent_to(phoenix_server, project, turns(15_000, 2))
    down = f"http://127.0.0.1:{free_port()}"
    config = (f"[[sources.phoenix]]\nurl = '{down}'\nprojects = ['{project}']\nretries = 0\n"
              f"[[sources.phoenix]]\nurl = '{phoenix_server.url}'\nprojects = ['{project}']\n")
    done = cli(tmp_path, config, "ingest", "all")
    assert done.returncode == 2
    assert done.stderr == f"lens: error: phoenix at {down}: connection refused\n"
    assert done.stdout.startswith(f"phoenix: read {len(spans)} · written {len(spans)} ")
    assert span_ids(tmp_path, project) == ids(spans)


def test_sigterm_stops_follow_like_ctrl_c(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    """systemd and `docker stop` send SIGTERM: the follower says it stopped, exits 0, and leaves
    no run recorded as still running and no half-built views file."""
    project = "edges-sigterm"
    spans = sent_to(phoenix_server, project, turns(16_000, 2))
    config = f"[sources.phoenix]\nurl = '{phoenix_server.url}'\nprojects = ['{project}']\n"
    (tmp_path / "lens.toml").write_text("[lens]\nproject = 'default'\n" + config)
    follower = subprocess.Popen([sys.executable, "-m", "lens_etl", "--data-dir", str(tmp_path), "--config",
                                 str(tmp_path / "lens.toml"), "ingest", "--follow", "--every", "1s"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("following 1 source(s)")
        assert follower.stdout.readline().startswith(f"phoenix: read {len(spans)} ")
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert (follower.returncode, out, err) == (0, "follow: stopped; the lake is consistent\n", "")
    assert not list(tmp_path.glob("*.tmp*"))
    con = duckdb.connect(str(tmp_path / "lens.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM ingest_runs WHERE status = 'running'").fetchone() == (0,)
    con.close()
    assert span_ids(tmp_path, project) == ids(spans)


ODD = {"tag.tags": ["a", "b", "ü😀"], "scores": [1, 2, 3], "flag": True, "ratio": 0.5, "empty": "",
       "nul": "a\x00b", "big": 2**62, "key with space": "v", "unicode.ключ": "значение"}


def test_database_path_gives_attributes_as_rest_does(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    """Lists of tags or numbers stay lists, a NUL stays in its string: both paths, the same rows."""
    project = "edges-odd"
    spans = [dataclasses.replace(s, attributes={**s.attributes, **ODD}) for s in turns(17_000, 2)]
    sent_to(phoenix_server, project, spans)
    rows = {}
    for path, db in (("rest", None), ("db", f"sqlite:///{phoenix_server.db_path}")):
        pull_phoenix(Settings(data_dir=tmp_path / path, env={}), PhoenixSource(phoenix_server.url, (project,), db))
        con = duckdb.connect(str(tmp_path / path / "lens.duckdb"), read_only=True)
        rows[path] = {r[0]: json.loads(r[1]) for r in con.execute("SELECT span_id, metadata FROM spans").fetchall()}
        con.close()
    assert set(rows["rest"]) == set(rows["db"]) == ids(spans)
    for span_id, metadata in rows["rest"].items():
        assert rows["db"][span_id] == metadata
        assert {k: metadata["attributes"][k] for k in ODD} == ODD


def test_a_project_name_with_a_slash_is_pulled(phoenix_server: PhoenixServer, tmp_path: Path) -> None:
    """Phoenix routes on the decoded path: `team%2Fclaude code` reached its web page, which is
    not JSON, and the project could not be pulled at all."""
    project = "team/claude code"
    spans = sent_to(phoenix_server, project, turns(18_000, 2))
    [summary] = pull_phoenix(Settings(data_dir=tmp_path, env={}), PhoenixSource(phoenix_server.url, (project,)))
    assert (summary.read, summary.written) == (len(spans), len(spans))
    assert span_ids(tmp_path, project) == ids(spans)
    with pytest.raises(SourceError, match="project 'team/nobody' not found"):
        pull_phoenix(Settings(data_dir=tmp_path, env={}), PhoenixSource(phoenix_server.url, ("team/nobody",)))
