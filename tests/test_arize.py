"""Arize AX pulls through the real arize SDK, against a Flight stand-in on 127.0.0.1."""
from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from etl_helpers import settings_for
from flight_standin import API_KEY, PROJECT, SPACE_ID, ArizeFlightStandin, StandinData, spans_for_days, start_standin
from lens_etl import follow as following
from lens_etl.__main__ import main
from lens_etl.config import Settings
from lens_etl.errors import SourceError
from lens_etl.pipeline import IngestSummary, ingest
from lens_etl.sources import arize

FIRST = date(2025, 3, 1)
DAYS = 4


def utc(day: int, hour: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def standin() -> Iterator[ArizeFlightStandin]:
    server = start_standin(StandinData(spans_for_days(FIRST, DAYS)))
    yield server
    server.shutdown()


def settings_at(tmp_path: Path, port: int, key: str = API_KEY, **arize_table: object) -> Settings:
    table = {"space_id": SPACE_ID, "project": PROJECT, "flight_host": "127.0.0.1", "flight_port": port,
             "flight_scheme": "grpc+tcp", **arize_table}
    return dataclasses.replace(settings_for(tmp_path / "data"), sources={"arize": table}, env={"ARIZE_API_KEY": key})


def pull(settings: Settings, since: str = "2025-03-01", until: str = "2025-03-05") -> list[IngestSummary]:
    return [
        ingest(settings, "arize", p.target, p.batches, project=p.project, window=p.window)
        for p in arize.batches_for_config(settings, since=since, until=until)
    ]


def lake_rows(settings: Settings) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT span_id, tokens_in, cost_usd, session_id, project, source, span_kind"
            f" FROM read_parquet('{settings.spans_dir}/**/*.parquet', hive_partitioning=true) ORDER BY span_id"
        ).fetchall()
    finally:
        con.close()


def days_queried(server: ArizeFlightStandin) -> list[tuple[datetime, datetime]]:
    return sorted(server.queried_windows())


def test_multi_day_pull_lands_span_for_span(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    settings = settings_at(tmp_path, standin.port)
    [summary] = pull(settings)
    expected = standin.data.spans
    rows = lake_rows(settings)
    assert (summary.read, summary.written, summary.duplicates, summary.dead_letters) == (24, 24, 0, 0)
    assert [r[0] for r in rows] == sorted(expected["context.span_id"].to_pylist())
    by_id = {r[0]: r for r in rows}
    llm = by_id["03010011".ljust(16, "b")]
    assert llm[1] == 1000 and llm[2] is not None and llm[2] > 0
    assert llm[3] == "sess-0301-0" and llm[4:6] == (PROJECT, "arize")
    tool = by_id["03010022".ljust(16, "c")]
    assert tool[1] is None and tool[3] == "sess-0301-0" and tool[6] == "TOOL"


def test_windows_are_day_chunks_in_the_sdk_query(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    pull(settings_at(tmp_path, standin.port))
    assert days_queried(standin) == [(utc(d), utc(d + 1)) for d in range(1, 5)]
    query = standin.queries[0]
    assert (query.space_id, query.project, query.environment, query.api_key) == (SPACE_ID, PROJECT, "TRACING", API_KEY)


def test_chunk_flag_splits_days(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    [summary] = pull(settings_at(tmp_path, standin.port, chunk="6h"), until="2025-03-02")
    assert days_queried(standin) == [(utc(1, h), utc(1, h + 6) if h < 18 else utc(2)) for h in (0, 6, 12, 18)]
    assert summary.written == 6


def test_rerun_pulls_only_the_overlap_day(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    settings = settings_at(tmp_path, standin.port)
    pull(settings)
    standin.queries.clear()
    [again] = pull(settings)
    assert days_queried(standin) == [(utc(4), utc(5))]
    assert (again.read, again.written, again.duplicates) == (6, 0, 6)
    assert len(lake_rows(settings)) == 24


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    settings = settings_at(tmp_path, standin.port)
    standin.data.fail_days = {date(2025, 3, 3)}
    with pytest.raises(SourceError, match="export of claude-code 2025-03-03T00:00Z/2025-03-04T00:00Z failed"):
        pull(settings)
    assert len(lake_rows(settings)) == 12
    standin.data.fail_days = set()
    standin.queries.clear()
    [resumed] = pull(settings)
    assert days_queried(standin) == [(utc(d), utc(d + 1)) for d in (2, 3, 4)]
    assert (resumed.written, resumed.duplicates) == (12, 6)
    ids = [r[0] for r in lake_rows(settings)]
    assert len(ids) == len(set(ids)) == 24


def run_cli(tmp_path: Path, port: int, monkeypatch: pytest.MonkeyPatch, key: str, *flags: str) -> int:
    config = tmp_path / "lens.toml"
    config.write_text(
        f'[sources.arize]\nflight_host = "127.0.0.1"\nflight_port = {port}\nflight_scheme = "grpc+tcp"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARIZE_API_KEY", key)
    argv = ["--config", str(config), "--data-dir", str(tmp_path / "data"), "ingest", "arize", "--space-id", SPACE_ID,
            "--since", "2025-03-01", "--until", "2025-03-03", *flags]
    return main(argv)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_cli_pulls_a_project(tmp_path: Path, standin: ArizeFlightStandin, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, standin.port, monkeypatch, API_KEY, "--project", PROJECT) == 0
    assert "arize: read 12 · written 12" in capsys.readouterr().out


def test_wrong_api_key_is_one_line(tmp_path: Path, standin: ArizeFlightStandin, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, standin.port, monkeypatch, "ak-wrong", "--project", PROJECT) == 2
    assert "refused the API key" in one_line_error(capsys)
    assert "ak-wrong" not in capsys.readouterr().err


def test_unknown_project_is_one_line(tmp_path: Path, standin: ArizeFlightStandin, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, standin.port, monkeypatch, API_KEY, "--project", "nope") == 2
    assert "unknown space" in one_line_error(capsys)


def test_an_unknown_project_does_not_keep_the_others_from_being_pulled(
        tmp_path: Path, standin: ArizeFlightStandin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Follow mode pulled no project after a misnamed one, at any poll; `ingest arize` neither."""
    assert run_cli(tmp_path, standin.port, monkeypatch, API_KEY, "--project", "nope", "--project", PROJECT) == 2
    out, err = capsys.readouterr()
    assert "arize: read 12 · written 12" in out
    [error] = [line for line in err.splitlines() if line.startswith("lens: error:")]
    assert "unknown space" in error and "'nope'" in error


def test_host_down_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run_cli(tmp_path, port, monkeypatch, API_KEY, "--project", PROJECT) == 2
    assert f"cannot reach grpc+tcp://127.0.0.1:{port}" in one_line_error(capsys)


def test_empty_api_key_is_one_line(tmp_path: Path, standin: ArizeFlightStandin, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, standin.port, monkeypatch, "  ", "--project", PROJECT) == 2
    assert "no API key" in one_line_error(capsys)
    assert standin.queries == []


def test_ingest_all_and_follow_pull_the_configured_arize_space(tmp_path: Path, standin: ArizeFlightStandin,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`make ingest` (ingest all) and --follow pull [sources.arize] too, not only Phoenix servers."""
    settings = settings_at(tmp_path, standin.port, lookback_days=2000, chunk="2000d")
    [summary] = following.ingest_all(settings)
    assert (summary.source, summary.written) == ("arize", len(standin.data.spans))
    assert f"arize: read {len(standin.data.spans)} · written {len(standin.data.spans)}" in capsys.readouterr().out
    lines: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=following.follow, args=(settings, 0.2, lines.append, stop))
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(line.startswith("arize:") for line in lines):
        time.sleep(0.05)
    queries = len(standin.queries)
    time.sleep(1.5)  # several polls more
    stop.set()
    worker.join(timeout=60)
    assert lines[0].startswith("following 1 source(s) every 0.2s (Arize every 300s)")
    # the newest chunk again (its spans now duplicates); the polls after it leave Arize be for five minutes
    [pulled] = [line for line in lines if line.startswith("arize:")]
    assert f"written 0 · duplicates {len(standin.data.spans)}" in pulled
    assert len(standin.queries) == queries


def test_the_api_key_comes_from_the_secrets_file_lens_is_told_of(tmp_path: Path, standin: ArizeFlightStandin) -> None:
    secrets = tmp_path / "elsewhere" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(f'arize_api_key = "{API_KEY}"\n', encoding="utf-8")
    settings = dataclasses.replace(settings_at(tmp_path, standin.port), env={}, secrets_file=secrets)
    assert arize.api_key(settings) == API_KEY
    with pytest.raises(SourceError, match=f"arize_api_key in {tmp_path / 'missing.toml'}"):
        arize.api_key(dataclasses.replace(settings, secrets_file=tmp_path / "missing.toml"))
