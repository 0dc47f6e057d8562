"""The synthetic lake the benchmarks time and measure is written as ingest would write it."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from bench import synth
from etl_helpers import normalize_raw
from lens_etl.sources.files import read_files


def test_the_synthetic_lake_holds_the_metadata_ingest_writes(tmp_path: Path) -> None:
    """The scale benchmark reports the lake's size per million spans from the synthetic lake,
    which skips the normalizer: its metadata, the widest column, must be what ingest writes."""
    start_ms, end_ms = synth.window_ms(2.0)
    draw = synth.draw(3_000, start_ms, end_ms, seed=5)
    pools = synth.Pools.build()
    export = tmp_path / "export.jsonl"
    synth.flat_frame(draw, pools).write_ndjson(export)
    ingested = normalize_raw(next(iter(read_files([export], 1 << 26))), identity_file=None)
    assert ingested.dead_letters.num_rows == 0
    by_ingest = {row["span_id"]: json.loads(row["metadata"]) for row in ingested.spans.select(["span_id", "metadata"]).to_pylist()}
    table = synth.canonical_table(draw, pools, "synth-test", datetime.now(timezone.utc))
    by_synth = {row["span_id"]: json.loads(row["metadata"]) for row in table.select(["span_id", "metadata"]).to_pylist()}
    assert len(by_synth) == 3_000 and by_synth == by_ingest
    assert any("attributes.metadata" in m for m in by_synth.values())


def test_an_ordered_export_draws_each_chunk_after_the_one_before(tmp_path: Path) -> None:
    """The memory benchmark's long export comes in time order, chunk by chunk; the other one's
    chunks each cover the whole window."""
    def chunk_spans(ordered: bool) -> list[tuple[int, int]]:
        export = tmp_path / f"{ordered}.jsonl"
        synth.write_export(export, 3_000, days=6.0, chunk=1_000, ordered=ordered)
        starts = [json.loads(line)["start_time"] for line in export.read_text().splitlines()]
        return [(min(starts[i:i + 1_000]), max(starts[i:i + 1_000])) for i in range(0, 3_000, 1_000)]

    ordered = chunk_spans(True)
    assert all(earlier[1] <= later[0] for earlier, later in zip(ordered, ordered[1:]))
    mixed = chunk_spans(False)
    assert all(later[0] < earlier[1] for earlier, later in zip(mixed, mixed[1:]))
