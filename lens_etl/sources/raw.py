"""The raw batch every source yields: where each record came from and its JSON text."""
from __future__ import annotations

import pyarrow as pa

from ..schema import RAW_SCHEMA


def raw_table(source_file: str, lines: list[int], docs: list[str], problems: list[str | None] | None = None) -> pa.Table:
    """Build one batch; `problems` lets a reader reject a record it could not even parse."""
    return pa.table(
        [
            pa.array([source_file] * len(docs), pa.string()),
            pa.array(lines, pa.int64()),
            pa.array(docs, pa.string()),
            pa.array(problems if problems is not None else [None] * len(docs), pa.string()),
        ],
        schema=RAW_SCHEMA,
    )
