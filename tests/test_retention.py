"""Purge and export of one developer's rows; retention drops old partitions."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import write_synthetic_export
from lens_etl import retention, warehouse
from lens_etl.config import Settings
from lens_etl.pipeline import ingest
from lens_etl.sources.files import read_files


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    paths, identity = write_synthetic_export(tmp_path / "export")
    settings = Settings(data_dir=tmp_path / "data", identity_file=identity)
    ingest(settings, "file", "synthetic", read_files(paths, settings.batch_bytes))
    return settings


def count(settings: Settings, sql: str) -> int:
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_purge_removes_a_developer_everywhere_and_export_writes_exactly_their_rows(lake: Settings, tmp_path: Path) -> None:
    theirs = count(lake, "SELECT count(*) FROM spans WHERE developer_id = 'bob'")
    others = count(lake, "SELECT count(*) FROM spans WHERE developer_id IS DISTINCT FROM 'bob'")
    assert theirs > 0
    out = tmp_path / "bob.parquet"
    assert retention.export(lake, "bob", out) == theirs
    exported = pq.read_table(out)
    assert set(exported["developer_id"].to_pylist()) == {"bob"} and exported.num_rows == theirs
    assert retention.export(lake, "bob", tmp_path / "bob.jsonl") == theirs
    assert len((tmp_path / "bob.jsonl").read_text().splitlines()) == theirs

    result = retention.purge(lake, "bob")
    warehouse.build(lake)
    assert result.spans == theirs
    assert count(lake, "SELECT count(*) FROM spans WHERE developer_id = 'bob'") == 0
    assert count(lake, "SELECT count(*) FROM spans") == others
    for view in ("daily_metrics", "hourly_metrics", "session_days", "sessions"):
        assert count(lake, f"SELECT count(*) FROM {view} WHERE developer_id = 'bob'") == 0, view
    assert count(lake, "SELECT sum(spans) FROM daily_metrics") == others
    with pytest.raises(retention.RetentionError, match="no rows"):
        retention.export(lake, "bob", tmp_path / "again.parquet")


def test_retention_drops_old_partitions_and_their_rollups(lake: Settings) -> None:
    days = sorted(p.name for p in lake.spans_dir.glob("event_date=*"))
    newest = date.fromisoformat(days[-1].split("=")[1])
    kept = Settings(data_dir=lake.data_dir, identity_file=lake.identity_file, retention_days=5)
    dropped = retention.drop_expired(kept, newest)
    warehouse.build(kept)
    assert dropped and all((newest - d).days > 5 for d in dropped)
    assert count(kept, "SELECT min(event_date) FROM spans") >= min(d for d in [newest] if d) .__class__.fromordinal(newest.toordinal() - 5)
    assert count(kept, f"SELECT count(*) FROM daily_metrics WHERE event_date < DATE '{dropped[-1]}' + 1") == 0
