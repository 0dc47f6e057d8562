"""Object storage, against a real S3-compatible server on 127.0.0.1 (moto's server, not a mock):
what works today without DuckDB's httpfs extension (which cannot be downloaded here, and whose
PyPI wheel, duckdb-extension-httpfs 1.5.5, does not load into duckdb 1.5.6).

- writes: pyarrow writes a lake file through an fsspec (s3fs) filesystem as one PUT of the final
  object name; S3 has no rename, and a PUT is atomic for readers, so no `.tmp` object is needed;
- reads: DuckDB reads the Hive-partitioned lake through the same fsspec filesystem registered on
  the connection, and the warehouse's view SQL over `s3://` gives the numbers it gives locally.
"""
from __future__ import annotations

import socket
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow.parquet as pq
import pytest

from lens_etl import warehouse
from lens_etl.config import Settings

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
