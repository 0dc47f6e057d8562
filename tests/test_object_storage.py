"""Object storage, against a real S3-compatible server on 127.0.0.1 (moto's server, not a mock),
without DuckDB's httpfs extension (which cannot be downloaded here, and whose PyPI wheel,
duckdb-extension-httpfs 1.5.5, does not load into duckdb 1.5.6): DuckDB reads through the s3fs
filesystem registered on its connection.

- writes: pyarrow writes a lake file through an fsspec (s3fs) filesystem as one PUT of the final
  object name; S3 has no rename, and a PUT is atomic for readers, so no `.tmp` object is needed;
- reads: DuckDB reads the Hive-partitioned lake through the same fsspec filesystem registered on
  the connection, and the warehouse's view SQL over `s3://` gives the numbers it gives locally;
- the product: with a lake URL, ingest publishes the lake there, and a reader with nothing but the
  URL and credentials (the app on another host) builds its views over it and shows the same numbers.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow.parquet as pq
import pytest

from streamlit.testing.v1 import AppTest

from conftest import SAMPLES_DIR, log_in_as
from lens_etl import object_store, warehouse
from lens_etl.config import Settings
from lens_etl.lake import Lake
from lens_etl.pipeline import ingest
from lens_etl.sources.files import read_files

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

BUCKET = "lens-lake"
ROOT_URL = f"s3://{BUCKET}/team-a"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    """An S3 server on a free local port, a bucket, and an s3fs filesystem on it."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    fs = s3fs.S3FileSystem(key="lens-test", secret="lens-test-secret", endpoint_url=f"http://127.0.0.1:{port}",
                           client_kwargs={"region_name": "us-east-1"})
    fs.call_s3("create_bucket", Bucket=BUCKET)
    fs.lens_env = {"AWS_ACCESS_KEY_ID": "lens-test", "AWS_SECRET_ACCESS_KEY": "lens-test-secret",
                   "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_REGION": "us-east-1"}
    yield fs
    server.stop()


@pytest.fixture(scope="module")
def s3_lake(s3, sample_settings: Settings) -> str:
    """The sample lake's Parquet files written to the bucket: span files through pyarrow (final
    name, one PUT each), the other folders copied as they are."""
    data_dir = sample_settings.data_dir
    for path in sorted(sample_settings.spans_dir.glob("event_date=*/*.parquet")):
        key = f"{BUCKET}/team-a/{path.relative_to(data_dir).as_posix()}"
        pq.write_table(pq.read_table(path, partitioning=None), key, filesystem=s3, compression="zstd")
    for path in sorted(data_dir.rglob("*.parquet")):
        relative = path.relative_to(data_dir).as_posix()
        if not relative.startswith("lake/spans/"):
            s3.put_file(str(path), f"{BUCKET}/team-a/{relative}")
    return ROOT_URL


def _totals(con: duckdb.DuckDBPyConnection) -> tuple:
    return con.execute(
        "SELECT (SELECT count(*) FROM spans), (SELECT round(sum(cost_usd), 9) FROM spans),"
        " (SELECT sum(requests) FROM daily_metrics), (SELECT sum(tokens_in) FROM daily_metrics),"
        " (SELECT round(sum(cost_usd), 9) FROM daily_metrics), (SELECT count(*) FROM dead_letters),"
        " (SELECT count(*) FROM ingest_runs)"
    ).fetchone()


def test_pyarrow_writes_final_objects_only(s3, s3_lake: str, sample_settings: Settings) -> None:
    keys = s3.find(f"{BUCKET}/team-a/lake/spans")
    local = list(sample_settings.spans_dir.glob("event_date=*/*.parquet"))
    assert len(keys) == len(local) and not [k for k in keys if k.endswith(".tmp")]
    assert all("/event_date=" in key for key in keys)


def test_duckdb_reads_hive_lake_through_registered_fsspec(s3, s3_lake: str, sample_settings: Settings) -> None:
    con = duckdb.connect()
    con.register_filesystem(s3)
    query = ("SELECT count(*), count(DISTINCT event_date), round(sum(cost_usd), 9) FROM read_parquet(?, "
             "hive_partitioning = true, hive_types = {'event_date': DATE}, union_by_name = true)")
    remote = con.execute(query, [f"{s3_lake}/lake/spans/event_date=*/*.parquet"]).fetchone()
    local = duckdb.connect().execute(query, [str(sample_settings.spans_dir / "event_date=*" / "*.parquet")]).fetchone()
    assert remote == local and remote[0] > 0


def test_views_over_s3_equal_local_views(s3, s3_lake: str, sample_settings: Settings, tmp_path: Path) -> None:
    """The warehouse's view SQL with the lake at s3://…, in a DuckDB file a read-only reader opens
    and registers the filesystem on: every total equals the local warehouse's."""
    sql = warehouse.render_views(sample_settings).replace(str(sample_settings.data_dir), s3_lake)
    assert f"{s3_lake}/lake/spans/event_date=*/*.parquet" in sql
    path = tmp_path / "lens_s3.duckdb"
    con = duckdb.connect(str(path))
    con.register_filesystem(s3)
    con.execute(sql)
    con.close()

    reader = duckdb.connect(str(path), read_only=True)
    reader.register_filesystem(s3)
    local = warehouse.connect_readonly(sample_settings.duckdb_path)
    try:
        assert _totals(reader) == _totals(local)
    finally:
        reader.close()
        local.close()


# --- the lake URL in the product: ingest publishes, readers elsewhere read ----------------------

PRODUCT_URL = f"s3://{BUCKET}/published"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = SAMPLES_DIR / "arize_export_2026-10-26_2026-11-12.jsonl.gz"


def _local_totals(settings: Settings) -> tuple:
    """The same totals straight from the ingest host's local Parquet files."""
    data = settings.data_dir
    return duckdb.connect().execute(
        f"SELECT (SELECT count(*) FROM read_parquet('{data}/lake/spans/*/*.parquet')),"
        f" (SELECT round(sum(cost_usd), 9) FROM read_parquet('{data}/lake/spans/*/*.parquet')),"
        f" (SELECT sum(requests) FROM read_parquet('{data}/lake/rollups/daily_metrics/periods/*.parquet')),"
        f" (SELECT sum(tokens_in) FROM read_parquet('{data}/lake/rollups/daily_metrics/periods/*.parquet')),"
        f" (SELECT round(sum(cost_usd), 9) FROM read_parquet('{data}/lake/rollups/daily_metrics/periods/*.parquet')),"
        f" (SELECT count(*) FROM read_parquet('{data}/deadletter/*.parquet')),"
        f" (SELECT count(*) FROM read_parquet('{data}/runs/*.parquet', union_by_name = true))"
    ).fetchone()


def _reader_totals(settings: Settings) -> tuple:
    """The totals through a host's own views (reading the lake URL when it has one)."""
    con = warehouse.connect_readonly(settings.duckdb_path, settings)
    try:
        return _totals(con)
    finally:
        con.close()


def _published_keys(s3, folder: str) -> set[str]:
    prefix = f"{BUCKET}/published/"
    return {key.removeprefix(prefix) for key in s3.find(prefix + folder)}


@pytest.fixture(scope="module")
def etl_host(s3, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An ingest host: its own local lake, published to the lake URL by every run."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("etl") / "data", lake_url=PRODUCT_URL, env=s3.lens_env,
                        identity_file=SAMPLES_DIR / "identity.yaml")
    summary = ingest(settings, "file", "samples", read_files([SAMPLE], settings.batch_bytes))
    assert summary.status == "ok" and summary.written > 10_000
    return settings


def _reader_host(s3, folder: Path) -> Settings:
    """A host with nothing but the lake URL and credentials (no local lake)."""
    return Settings(data_dir=folder / "data", lake_url=PRODUCT_URL, env=s3.lens_env)


def test_ingest_publishes_every_file_the_views_read(s3, etl_host: Settings) -> None:
    data = etl_host.data_dir
    local_spans = {p.relative_to(data).as_posix() for p in etl_host.spans_dir.glob("event_date=*/*.parquet")}
    local_rollups = {p.relative_to(data).as_posix() for p in (etl_host.lake_dir / "rollups").glob("*/periods/*.parquet")}
    assert _published_keys(s3, "lake/spans") == local_spans
    assert _published_keys(s3, "lake/rollups") == local_rollups
    assert _published_keys(s3, "runs") and _published_keys(s3, "deadletter")
    assert not [key for key in _published_keys(s3, "") if key.endswith(".tmp")]
    # the ingest host's own views read the URL too
    assert PRODUCT_URL in warehouse.render_views(etl_host)


def test_a_reader_elsewhere_sees_the_ingest_hosts_numbers(s3, etl_host: Settings, tmp_path: Path) -> None:
    reader = _reader_host(s3, tmp_path)
    assert warehouse.refresh_from_lake_url(reader)  # no views yet: built from the publication
    assert not warehouse.refresh_from_lake_url(reader)  # nothing new published: kept
    assert _reader_totals(reader) == _local_totals(etl_host)


def test_compaction_replaces_objects_and_a_new_publication_reaches_readers(s3, etl_host: Settings, tmp_path: Path) -> None:
    reader = _reader_host(s3, tmp_path)
    warehouse.refresh_from_lake_url(reader)
    before = _published_keys(s3, "lake/spans")
    lake = Lake(etl_host.spans_dir, "compact")
    try:
        lake.compact(min_files=1)  # every partition rewritten under a new file name
    finally:
        lake.close()
    warehouse.build(etl_host, publish=True)
    after = _published_keys(s3, "lake/spans")
    assert after == {p.relative_to(etl_host.data_dir).as_posix() for p in etl_host.spans_dir.glob("event_date=*/*.parquet")}
    assert not before & after  # the replaced objects are gone, not left to be counted twice
    assert warehouse.refresh_from_lake_url(reader)
    assert _reader_totals(reader) == _local_totals(etl_host)


def test_doctor_reports_unpublished_files_and_fix_publishes_them(s3, etl_host: Settings) -> None:
    from lens_etl import doctor

    assert not [line for line in doctor.diagnose(etl_host).problems() if line.startswith("lake URL")]
    lake = Lake(etl_host.spans_dir, "compact")
    try:
        merged = lake.compact(min_files=1)  # rewritten locally, not published yet
    finally:
        lake.close()
    problems = doctor.diagnose(etl_host).problems()  # the compacted days' rollups are stale too
    assert problems[-1] == f"lake URL {PRODUCT_URL}: {merged} file(s) to publish, {merged} object(s) to remove"
    assert not doctor.fix(etl_host).problems()
    local = {p.relative_to(etl_host.data_dir).as_posix() for p in etl_host.spans_dir.glob("event_date=*/*.parquet")}
    assert _published_keys(s3, "lake/spans") == local


def test_a_host_that_published_nothing_deletes_nothing(s3, etl_host: Settings, tmp_path: Path) -> None:
    from lens_etl import object_store

    before = _published_keys(s3, "")
    assert object_store.publish(_reader_host(s3, tmp_path)).uploaded == 0
    assert _published_keys(s3, "") == before


def test_a_lake_another_engine_wrote_is_read_without_a_marker(s3, s3_lake: str, sample_settings: Settings,
                                                              tmp_path: Path) -> None:
    """Files put there by another writer (Spark, a sync), with no `_published.json`: the views list them."""
    reader = Settings(data_dir=tmp_path / "data", lake_url=s3_lake, env=s3.lens_env)
    assert warehouse.refresh_from_lake_url(reader) and not warehouse.refresh_from_lake_url(reader)
    assert _reader_totals(reader) == _reader_totals(sample_settings)


def test_the_app_reads_the_lake_from_the_url(s3, etl_host: Settings, app_users: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The app on a host with no lake of its own: the Overview's cost equals the ingest host's spans."""
    for name, value in {**s3.lens_env, "LENS_LAKE_URL": PRODUCT_URL, "LENS_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(name, value)
    at = log_in_as(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    spans = f"read_parquet('{etl_host.spans_dir}/*/*.parquet')"
    newest = duckdb.connect().execute(f"SELECT CAST(max(start_time) AS DATE) FROM {spans}").fetchone()[0]
    cost = duckdb.connect().execute(f"SELECT sum(cost_usd) FROM {spans} WHERE start_time >= ? AND start_time < ?",
                                    [newest - timedelta(days=29), newest + timedelta(days=1)]).fetchone()[0]
    shown = next(m.value for m in at.metric if m.label == "Cost")
    assert float(shown.replace("$", "").replace(",", "")) == pytest.approx(cost, abs=0.005)


def _cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lens_etl", "--data-dir", str(data_dir), *args],
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_an_unreachable_lake_url_is_one_line_naming_it(s3, tmp_path: Path) -> None:
    down = {**s3.lens_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}", "LENS_LAKE_URL": PRODUCT_URL}
    done = _cli(tmp_path / "data", down, "views")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert PRODUCT_URL in done.stderr and "Traceback" not in done.stderr
    assert s3.lens_env["AWS_SECRET_ACCESS_KEY"] not in done.stderr


def test_a_missing_bucket_is_one_line_naming_it(s3, tmp_path: Path) -> None:
    done = _cli(tmp_path / "data", {**s3.lens_env, "LENS_LAKE_URL": "s3://no-such-bucket/lens"}, "views")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "s3://no-such-bucket/lens" in done.stderr and "no such bucket" in done.stderr


def test_a_server_that_stops_answering_fails_in_bounded_time_in_one_line(s3, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that takes connections and never answers (hung, or a network dropping replies): each
    request is tried ATTEMPTS times of READ_TIMEOUT_S, not five rounds more (ten silent minutes)."""
    monkeypatch.setattr(object_store, "READ_TIMEOUT_S", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes the handshakes; nothing ever reads or answers
        env = {**s3.lens_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}"}
        settings = Settings(data_dir=tmp_path / "data", lake_url=PRODUCT_URL, env=env)
        started = time.monotonic()
        with pytest.raises(object_store.ObjectStoreError) as failure:
            object_store.published(settings)
        took = time.monotonic() - started
    message = str(failure.value)
    assert message.startswith(f"lake {PRODUCT_URL}: cannot read the lake") and "\n" not in message
    assert took < object_store.ATTEMPTS * (object_store.CONNECT_TIMEOUT_S + 1) + 5, took
