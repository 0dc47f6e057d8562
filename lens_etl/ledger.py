"""Dead letters and ingest runs: small append-only Parquet files the views read."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from .lake import write_parquet_atomic
from .schema import DEAD_LETTER_SCHEMA, INGEST_RUN_SCHEMA


def write_dead_letters(folder: Path, run_id: str, seq: int, table: pa.Table) -> None:
    """One file per batch with rejects: file, line, reason and the raw record."""
    if table.num_rows:
        write_parquet_atomic(table.cast(DEAD_LETTER_SCHEMA), folder / f"{run_id}-{seq:05d}.parquet")


def write_run(folder: Path, row: dict[str, object]) -> None:
    """The run's summary row, rewritten as the run goes so a crash still leaves a trace."""
    write_parquet_atomic(pa.Table.from_pylist([row], schema=INGEST_RUN_SCHEMA), folder / f"{row['run_id']}.parquet")
