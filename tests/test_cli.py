"""The command line as users type it: one-line errors, exit codes, and the DuckDB CLI agreeing with Python."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lens_etl.warehouse import connect_readonly

from etl_helpers import FIXTURES, fixture

ROOT = Path(__file__).resolve().parent.parent
DUCKDB_CLI = Path(sys.executable).parent / "duckdb"


def lens(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LENS_DATA_DIR": str(data_dir), "LENS_IDENTITY_FILE": str(FIXTURES / "identity.yaml")}
    return subprocess.run([sys.executable, "-m", "lens_etl", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fixture_lake(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    files = [str(fixture(n)) for n in ("arize_flat.jsonl", "phoenix_rest.json", "otlp.json", "spans.csv", "phoenix_df.parquet")]
    result = lens("ingest", "files", *files, cwd=data_dir.parent, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    return data_dir


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "filez", "x.jsonl"], "invalid choice: 'filez'"),
        (["ingest", "files"], "the following arguments are required: FILE"),
        (["ingest", "files", "missing.jsonl"], "missing.jsonl: no such file"),
        (["ingest", "files", "notes.txt"], "notes.txt: unknown file type"),
        (["--config", "nowhere.toml", "views"], "nowhere.toml: config file not found"),
        (["ingest", "files", "broken.parquet"], "broken.parquet: not a readable Parquet file"),
        (["purge", "--developer", ""], "--developer: give a developer id"),
        (["alerts", "history", "--limit", "-1"], "--limit: expected a whole number of at least 1"),
        (["alerts", "history", "--limit", "0"], "--limit: expected a whole number of at least 1"),
        (["alerts", "add", "error_rate", "--threshold", "nan"], "--threshold: expected a finite number"),
    ],
)
def test_user_mistakes_get_one_line_and_a_nonzero_exit(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    result = lens(*args, cwd=tmp_path, data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_ingest_prints_one_summary_line(tmp_path: Path) -> None:
    result = lens("ingest", "files", str(fixture("arize_flat.jsonl")), cwd=tmp_path, data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert "read 7" in line and "written 5" in line and "dead letters 1" in line


def test_a_bad_identity_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "lens.toml").write_text('[identity]\nfile = "who.yaml"\n')
    (tmp_path / "who.yaml").write_text("developers: [1, 2]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "lens_etl", "--data-dir", str(tmp_path / "d"), "ingest", "files", str(fixture("otlp.json"))],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "who.yaml" in result.stderr and "developers" in result.stderr


@pytest.mark.skipif(not DUCKDB_CLI.exists(), reason="the duckdb CLI is installed by `make install`")
def test_duckdb_cli_and_python_give_the_same_totals(fixture_lake: Path) -> None:
    sql = ("SELECT count(*) AS spans, sum(cost_usd) AS cost, CAST(sum(tokens_in) AS BIGINT) AS tokens_in, count(DISTINCT session_id) AS sessions "
           "FROM spans")
    cli = subprocess.run([str(DUCKDB_CLI), "-readonly", "-json", str(fixture_lake / "lens.duckdb"), "-c", sql], capture_output=True, text=True, check=True)
    (from_cli,) = json.loads(cli.stdout)
    python = connect_readonly(fixture_lake / "lens.duckdb").execute(sql).fetchone()
    assert (from_cli["spans"], from_cli["tokens_in"], from_cli["sessions"]) == (python[0], python[2], python[3])
    assert from_cli["cost"] == pytest.approx(python[1], rel=1e-12)
    daily = subprocess.run([str(DUCKDB_CLI), "-readonly", "-json", str(fixture_lake / "lens.duckdb"), "-c",
                            "SELECT sum(cost_usd) AS cost, CAST(sum(requests) AS BIGINT) AS requests FROM daily_metrics"], capture_output=True, text=True, check=True)
    (rolled,) = json.loads(daily.stdout)
    assert rolled["cost"] == pytest.approx(python[1], rel=1e-12)


def test_views_survive_moving_nothing_and_rebuild_on_demand(fixture_lake: Path) -> None:
    before = connect_readonly(fixture_lake / "lens.duckdb").execute("SELECT count(*) FROM spans").fetchone()
    result = lens("views", cwd=fixture_lake.parent, data_dir=fixture_lake)
    assert result.returncode == 0
    assert connect_readonly(fixture_lake / "lens.duckdb").execute("SELECT count(*) FROM spans").fetchone() == before


def test_views_work_on_an_empty_lake(tmp_path: Path) -> None:
    result = lens("views", cwd=tmp_path, data_dir=tmp_path / "data")
    assert result.returncode == 0
    con = connect_readonly(tmp_path / "data" / "lens.duckdb")
    for view in ("spans", "sessions", "daily_metrics", "dead_letters", "ingest_runs"):
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)


def test_identity_can_live_in_lens_toml_itself(tmp_path: Path) -> None:
    (tmp_path / "lens.toml").write_text('[identity.developers.bob]\nteam = "platform"\naliases = ["BOB@acme.dev"]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LENS_IDENTITY_FILE", None)
    result = subprocess.run([sys.executable, "-m", "lens_etl", "--data-dir", str(tmp_path / "d"), "ingest", "files", str(fixture("otlp.json"))],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    con = connect_readonly(tmp_path / "d" / "lens.duckdb")
    assert con.execute("SELECT DISTINCT developer_id, team FROM spans WHERE developer_id IS NOT NULL").fetchall() == [("bob", "platform")]
