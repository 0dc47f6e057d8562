"""Small helpers for the ETL tests: run files through the normalizer, build settings."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from lens_etl.config import Settings
from lens_etl.identity import load_identity
from lens_etl.normalize import NormalizeContext, NormalizedBatch, Normalizer
from lens_etl.sources.files import read_files

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Path:
    return FIXTURES / name


def make_normalizer(identity_file: Path | None = FIXTURES / "identity.yaml") -> Normalizer:
    context = NormalizeContext(
        run_id="test-run",
        source="file",
        project="default",
        ingested_at=datetime(2026, 11, 25, tzinfo=timezone.utc),
        identity=load_identity(identity_file),
    )
    return Normalizer(context)


def normalize_raw(raw: pa.Table, identity_file: Path | None = FIXTURES / "identity.yaml") -> NormalizedBatch:
    normalizer = make_normalizer(identity_file)
    try:
        return normalizer.normalize(raw)
    finally:
        normalizer.close()


def normalize_files(*names: str) -> NormalizedBatch:
    raw = pa.concat_tables(list(read_files([fixture(n) for n in names], 1 << 20)))
    return normalize_raw(raw)


def spans_by_id(batch: NormalizedBatch) -> dict[str, dict]:
    return {row["span_id"]: row for row in batch.spans.to_pylist()}


def settings_for(data_dir: Path, identity: Path | None = FIXTURES / "identity.yaml") -> Settings:
    return Settings(data_dir=data_dir, identity_file=identity)
