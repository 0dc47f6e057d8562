"""The lake is engine-neutral: Spark (local mode) reads the Hive-partitioned lake and computes the
daily rollup with the same SQL files, and every number equals DuckDB's `daily_metrics`.

The Spark SQL comes from docs/distributed.md (the `spans` view) and sql/ (the rollup and the
daily view, run verbatim), so the deployment page and the SQL files are what is tested.
"""
from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from lens_etl.config import Settings
from lens_etl.warehouse import SQL_DIR, connect_readonly

DOC = Path(__file__).resolve().parent.parent / "docs" / "distributed.md"
DIMENSIONS = ("event_date", "developer_id", "team", "model", "provider", "service_name", "repo_slug", "project")

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime (java not on PATH)")


def doc_sql(marker: str) -> str:
    """The fenced sql block of docs/distributed.md whose first line is `-- marker`."""
    for block in re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S):
        if block.startswith(f"-- {marker}"):
            return block
    raise AssertionError(f"docs/distributed.md has no sql block starting with '-- {marker}'")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("lens-test")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")  # a quick start beats peak speed here
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_daily_rollup_equals_duckdb_daily_metrics(spark, sample_settings: Settings) -> None:
    spark.read.option("mergeSchema", "true").parquet(str(sample_settings.spans_dir)).createOrReplaceTempView("lake_spans")
    spark.sql(doc_sql("spark: spans view"))
    hourly = (SQL_DIR / "rollups" / "hourly_metrics.sql").read_text(encoding="utf-8")
    spark.sql(hourly).createOrReplaceTempView("hourly_metrics")
    daily = (SQL_DIR / "rollups" / "daily_metrics.sql").read_text(encoding="utf-8")
    from_spark = [row.asDict() for row in spark.sql(daily).withColumnRenamed("day", "event_date").collect()]

    con = connect_readonly(sample_settings.duckdb_path)
    try:
        cursor = con.execute("SELECT * FROM daily_metrics")
        columns = [d[0] for d in cursor.description]
        from_duckdb = [dict(zip(columns, row)) for row in cursor.fetchall()]
    finally:
        con.close()

    assert from_duckdb, "the sample lake has no daily_metrics rows"
    assert set(from_spark[0]) == set(columns)
    spark_by_key = {tuple(r[d] for d in DIMENSIONS): r for r in from_spark}
    duck_by_key = {tuple(r[d] for d in DIMENSIONS): r for r in from_duckdb}
    assert len(spark_by_key) == len(from_spark) and len(duck_by_key) == len(from_duckdb)
    assert spark_by_key.keys() == duck_by_key.keys()
    for key, duck in duck_by_key.items():
        theirs = spark_by_key[key]
        for name in set(columns) - set(DIMENSIONS):
            ours, other = duck[name], theirs[name]
            if isinstance(ours, float) or isinstance(other, float):
                assert math.isclose(float(ours or 0), float(other or 0), rel_tol=1e-9, abs_tol=1e-12), (key, name, ours, other)
            else:
                assert ours == other, (key, name, ours, other)


# The rollups read from another rollup of the same day, with that rollup's view: Spark runs their
# SQL verbatim over the rollup it reads (all days at once: they hold no day column of their own).
DERIVED_ROLLUPS = {
    "tool_sessions": ("session_activity", "tool_name, session_id"),
    "tool_latency": ("latency_histogram", "tool_name, bucket"),
    "request_latency": ("latency_histogram", "model, bucket"),
    "tool_chains": ("tool_transitions", "from_tool, to_tool, crosses_midnight"),
}


@pytest.mark.parametrize("name", sorted(DERIVED_ROLLUPS))
def test_spark_runs_the_rollups_over_rollups_verbatim(spark, sample_settings: Settings, name: str) -> None:
    source, keys = DERIVED_ROLLUPS[name]
    con = connect_readonly(sample_settings.duckdb_path)
    try:
        spark.createDataFrame(con.execute(f"SELECT * EXCLUDE (event_date) FROM {source}").df()).createOrReplaceTempView(source)
        ours = con.execute(f"SELECT {keys}, sum(COLUMNS(* EXCLUDE (event_date, {keys}))) FROM {name} GROUP BY ALL").fetchall()
    finally:
        con.close()
    query = (SQL_DIR / "rollups" / f"{name}.sql").read_text(encoding="utf-8")
    theirs = [tuple(row) for row in spark.sql(query).collect()]
    assert ours and sorted(ours, key=repr) == sorted(theirs, key=repr)
