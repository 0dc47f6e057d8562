"""Python-repr cells -> JSON text, for CSV files written from a span dataframe.

`DataFrame.to_csv` writes a dict or list cell (Phoenix's `attributes.metadata`, `events`, message
lists, Arize's parsed JSON columns) with Python's repr: single quotes, `None`, `datetime.datetime(…)`.
JSON readers see no object there, so a session, a developer or an error message would be lost
without a word. Only cells that look like a repr pay for the parse.
"""
from __future__ import annotations

import ast
import json
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REPR_START = r"^\s*[\[{(]\s*[\[{(]?\s*'"
"""A dict or list whose first key or item is a single-quoted string: JSON has none."""

CONTENT_SUFFIXES = (".value", ".content")
"""Content columns (input.value, a message's content) keep their text as written: a repr there is
what the model said (LiteLLM writes some tool_use blocks so), not a value of the export's."""

NAMES = {"None": None, "True": True, "False": False, "nan": None, "NaN": None, "NaT": None}


class _NotALiteral(ValueError):
    pass


def _call(node: ast.Call, text: str) -> Any:
    """A timestamp as ISO text (pandas' Timestamp('…'), datetime.datetime(y, m, d, …)); any other
    call as its source."""
    name = ast.unparse(node.func)
    args = [_value(arg, text) for arg in node.args]
    if name.endswith("Timestamp") and args and isinstance(args[0], str):
        return args[0]
    if name in ("datetime.datetime", "datetime") and 3 <= len(args) <= 7 and all(isinstance(a, int) for a in args):
        return datetime(*args).isoformat()  # a dataframe's times are UTC
    return ast.get_source_segment(text, node)


def _value(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value.decode("utf-8", "replace") if isinstance(node.value, bytes) else node.value
    if isinstance(node, ast.Dict):
        return {str(_value(k, text)): _value(v, text) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_value(item, text) for item in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value
    if isinstance(node, ast.Name) and node.id in NAMES:
        return NAMES[node.id]
    if isinstance(node, ast.Call):
        return _call(node, text)
    raise _NotALiteral(type(node).__name__)


def as_json(text: str) -> str | None:
    """The cell as JSON text, or None when it is no Python literal (then it stays as it was)."""
    try:
        return json.dumps(_value(ast.parse(text.strip(), mode="eval").body, text.strip()), default=str)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, OverflowError):
        return None


def reprs_as_json(table: pa.Table) -> pa.Table:
    """Every text column's repr cells (content columns aside) replaced by the same value as JSON text."""
    for i, field in enumerate(table.schema):
        if not pa.types.is_string(field.type) or field.name.endswith(CONTENT_SUFFIXES):
            continue
        column = table.column(i)
        hits = pc.fill_null(pc.match_substring_regex(column, REPR_START), False)
        if not pc.any(hits).as_py():
            continue
        values = column.to_pylist()
        for row in np.flatnonzero(hits.to_numpy(zero_copy_only=False)):
            values[row] = as_json(values[row]) or values[row]
        table = table.set_column(i, field, pa.array(values, pa.string()))
    return table
