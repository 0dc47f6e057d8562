"""The raw batch every source yields: where each record came from and its JSON text."""
from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def raw_arrays(source_file: str, lines: pa.Array, docs: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Build one batch from Arrow arrays, without a Python list per record."""
    n = len(docs)
    names = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([source_file], pa.string()))
    return pa.Table.from_arrays([names.cast(pa.string()), lines, docs, pa.nulls(n, pa.string())], schema=RAW_SCHEMA)


def without_nan(batch: pa.RecordBatch) -> pa.Table:
    """NaN is how dataframes say 'absent'; JSON has null for that."""
    columns = []
    for column in batch.columns:
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def row_docs(table: pa.Table, con: duckdb.DuckDBPyConnection) -> pa.ChunkedArray:
    """Each row as one JSON doc (DuckDB `to_json`)."""
    con.register("rows_batch", table)
    try:
        docs = con.execute("SELECT CAST(to_json(t) AS VARCHAR) FROM rows_batch AS t").to_arrow_table()
    finally:
        con.unregister("rows_batch")
    return docs.column(0).cast(pa.string())


def rows_as_json(table: pa.Table, source_file: str, first_row: int, con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Each row as one JSON doc, numbered from `first_row`."""
    lines = pa.array(range(first_row, first_row + table.num_rows), pa.int64())
    return raw_arrays(source_file, lines, row_docs(table, con))
