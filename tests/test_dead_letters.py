"""Dead letters: each rejected record is one dead letter, with its own reason and raw text."""
from __future__ import annotations

import json
from dataclasses import replace

from lens_etl.normalize import Normalizer
from lens_etl.sources.raw import raw_table

from etl_helpers import make_normalizer, normalize_raw


def test_records_that_share_a_line_each_become_one_dead_letter_with_their_own_text() -> None:
    # spans of one OTLP request share their line; a reader may repeat a line number
    docs = [json.dumps({"name": f"no id {i}", "start_time": 1760358832941}) for i in range(3)] + ["not json"]
    batch = normalize_raw(raw_table("t.jsonl", [7, 7, 7, 7], docs))
    dead = batch.dead_letters.to_pylist()
    assert len(dead) == 4
    assert sorted((d["raw"], d["reason"]) for d in dead) == sorted(
        [(doc, "missing field: span id (context.span_id)") for doc in docs[:3]] + [("not json", "malformed JSON")]
    )


def test_dead_letters_pair_with_their_records_across_a_large_batch_on_many_threads() -> None:
    base = make_normalizer()
    normalizer = Normalizer(replace(base.context), threads=4)
    base.close()
    good = {"context.span_id": "s", "start_time": 1760358832941}
    docs = [json.dumps({**good, "context.span_id": f"s{i}"}) if i % 3 else json.dumps({"n": i}) for i in range(30_000)]
    try:
        batch = normalizer.normalize(raw_table("big.jsonl", [1] * len(docs), docs))
    finally:
        normalizer.close()
    assert batch.spans.num_rows == 20_000
    assert sorted(json.loads(d)["n"] for d in batch.dead_letters.column("raw").to_pylist()) == list(range(0, 30_000, 3))
