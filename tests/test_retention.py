"""Purge and export of one developer's rows; retention drops old partitions."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import write_synthetic_export
from lens_etl import doctor, retention, warehouse
from lens_etl.config import Settings
from lens_etl.lake import Lake
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


DEAD_LETTERS = {  # raw line -> does it name bob (id "bob", alias "acct-bob")?
    '{"name": "no id", "attributes.user.id": "acct-bob"}': True,
    '{"name": "no id", "attributes.user.id": "ACCT-BOB"}': True,
    '{"name": "no id", "attributes.metadata": "{\\"user_api_key_user_id\\": \\"bob\\"}"}': True,
    '{"name": "cut off", "attributes.user.id": "acct-bob", ': True,
    '{"name": "no id", "attributes.user.id": "acct-alice"}': False,
    '{"name": "no id", "attributes.user.id": "bobby"}': False,
    '{"name": "no id", "attributes.user.id": "acct-bob-2"}': False,
    '{"name": "no id", "attributes.input.value": "ask bob about the build"}': False,
    '{"name": "no id", "attributes.user.id": "eve", "attributes.session.id": "e-1"}': False,
    '{"name": "cut off", "attributes.user.id": "acct-erin", ': False,
}


def _dead_letter_raws(settings: Settings) -> list[str]:
    return [raw for path in sorted(settings.deadletter_dir.glob("*.parquet")) for raw in pq.read_table(path)["raw"].to_pylist()]


@pytest.fixture
def dead_letters(lake: Settings, tmp_path: Path) -> Settings:
    export = tmp_path / "rejects.jsonl"
    export.write_text("\n".join(DEAD_LETTERS) + "\n", encoding="utf-8")
    ingest(lake, "file", "rejects", read_files([export], lake.batch_bytes))
    assert set(DEAD_LETTERS) <= set(_dead_letter_raws(lake))
    return lake


def test_purge_drops_only_the_dead_letters_that_name_the_developer_as_a_whole_value(dead_letters: Settings) -> None:
    before = _dead_letter_raws(dead_letters)
    result = retention.purge(dead_letters, "bob")
    after = _dead_letter_raws(dead_letters)
    named = {raw for raw, bob in DEAD_LETTERS.items() if bob}
    assert result.dead_letters == len(named)
    assert not named & set(after)
    assert sorted(after) == sorted(raw for raw in before if raw not in named)


def test_a_one_letter_developer_does_not_match_inside_other_words(dead_letters: Settings) -> None:
    before = _dead_letter_raws(dead_letters)
    assert retention.purge(dead_letters, "e").dead_letters == 0
    assert _dead_letter_raws(dead_letters) == before


@pytest.mark.parametrize("developer", ["", "   "])
def test_a_blank_developer_is_refused_and_nothing_is_purged(dead_letters: Settings, developer: str) -> None:
    before = _dead_letter_raws(dead_letters)
    spans = count(dead_letters, "SELECT count(*) FROM spans")
    with pytest.raises(retention.RetentionError, match="--developer"):
        retention.purge(dead_letters, developer)
    with pytest.raises(retention.RetentionError, match="--developer"):
        retention.export(dead_letters, developer, dead_letters.data_dir / "x.parquet")
    assert _dead_letter_raws(dead_letters) == before
    assert count(dead_letters, "SELECT count(*) FROM spans") == spans


def test_no_retention_days_or_a_bad_one_drops_nothing(lake: Settings) -> None:
    newest = max(date.fromisoformat(p.name.split("=")[1]) for p in lake.spans_dir.glob("event_date=*"))
    for days in (None, 0, -1):
        assert retention.drop_expired(Settings(data_dir=lake.data_dir, retention_days=days), newest) == []
    assert any(lake.spans_dir.glob("event_date=*"))


def _rollups_of(settings: Settings, developer: str) -> tuple[int, int, int]:
    return (count(settings, f"SELECT count(*) FROM spans WHERE developer_id = '{developer}'"),
            count(settings, f"SELECT coalesce(sum(spans), 0) FROM daily_metrics WHERE developer_id = '{developer}'"),
            count(settings, f"SELECT count(*) FROM sessions WHERE developer_id = '{developer}'"))


def test_a_purge_killed_midway_and_run_again_leaves_nothing_of_the_developer_in_the_rollups(
        lake: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    days = retention.days_with(lake, "bob")
    assert len(days) >= 3
    rewrite, done = Lake._rewrite, []

    def killed_after_two_days(self: Lake, *args: object) -> None:
        if len(done) == 2:
            raise KeyboardInterrupt  # as a kill: the days after, the rollups and the views never happen
        rewrite(self, *args)
        done.append(args)

    monkeypatch.setattr(Lake, "_rewrite", killed_after_two_days)
    with pytest.raises(KeyboardInterrupt):
        retention.purge(lake, "bob")
    monkeypatch.setattr(Lake, "_rewrite", rewrite)
    assert retention.days_with(lake, "bob") == days[2:]
    retention.purge(lake, "bob")  # the rerun finds bob on the days the first did not reach
    warehouse.build(lake)
    assert _rollups_of(lake, "bob") == (0, 0, 0)
    assert count(lake, "SELECT sum(spans) FROM daily_metrics") == count(lake, "SELECT count(*) FROM spans")


def test_a_retention_killed_before_its_rollups_is_caught_up_by_the_next_ingest(
        lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    newest = max(date.fromisoformat(p.name.split("=")[1]) for p in lake.spans_dir.glob("event_date=*"))
    kept = Settings(data_dir=lake.data_dir, identity_file=lake.identity_file, retention_days=5)

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    before = count(lake, "SELECT count(*) FROM spans")
    monkeypatch.setattr(retention.rollups, "refresh", killed)
    with pytest.raises(KeyboardInterrupt):
        retention.drop_expired(kept, newest)  # the partitions went, their rollups stayed
    monkeypatch.undo()
    rejects = tmp_path / "rejects.jsonl"  # the next run, of something else (the dropped days stay gone)
    rejects.write_text('{"name": "cut off", \n', encoding="utf-8")
    ingest(lake, "file", "rejects", read_files([rejects], lake.batch_bytes))
    assert count(lake, "SELECT count(*) FROM spans") < before
    spans = count(lake, "SELECT count(*) FROM spans")
    assert 0 < spans == count(lake, "SELECT sum(spans) FROM daily_metrics")
    assert count(lake, "SELECT count(DISTINCT session_id) FROM spans") == count(lake, "SELECT count(*) FROM sessions")


def test_a_retention_killed_while_its_rollups_are_recomputed_is_finished_by_the_next_ingest(
        lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the dropped days' rollup folders went and before their sessions were added up
    again: nothing on disk names those days any more but the session totals themselves."""
    newest = max(date.fromisoformat(p.name.split("=")[1]) for p in lake.spans_dir.glob("event_date=*"))
    kept = Settings(data_dir=lake.data_dir, identity_file=lake.identity_file, retention_days=5)

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(retention.rollups.session_totals, "refresh", killed)
    with pytest.raises(KeyboardInterrupt):
        dropped = retention.expired_days(kept, newest)
        retention.drop_expired(kept, newest)
    monkeypatch.undo()
    assert set(dropped) <= set(doctor.diagnose(lake).stale_days)  # doctor says so too
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_text('{"name": "cut off", \n', encoding="utf-8")
    ingest(lake, "file", "rejects", read_files([rejects], lake.batch_bytes))
    assert count(lake, "SELECT count(DISTINCT session_id) FROM spans") == count(lake, "SELECT count(*) FROM sessions")
    assert count(lake, "SELECT count(*) FROM spans") == count(lake, "SELECT sum(spans) FROM daily_metrics")
