"""Synthetic Claude Code telemetry, drawn column-wise: flat JSONL exports and ready-made lakes.

One vectorized core draws sessions -> traces -> spans as numpy arrays; two writers shape the
draw either as the Arize flat export (JSONL, about 1 KB a span, what `lens_etl ingest files`
reads) or as canonical lake partitions (what the screens query). No Python loop per span.

    python -m bench.synth export OUT.jsonl --spans 1000000
    python -m bench.synth lake DATA_DIR --days 100 --per-day 100000
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from lens_etl import rollups, warehouse
from lens_etl.config import Settings
from lens_etl.fields import CONTENT_KEYS, DERIVED_ATTRIBUTES, IN_COLUMN_ATTRIBUTES, IN_COLUMNS, TOP_LEVEL
from lens_etl.lake import FILE_SCHEMA, partition_dir, write_span_file
from lens_etl.schema import SPAN_SCHEMA


@dataclass(frozen=True)
class Model:
    raw: str
    name: str
    provider: str
    weight: float
    usd_per_mtok: tuple[float, float, float, float]  # uncached input, output, cache read, cache write


MODELS = (
    Model("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "anthropic", 0.42, (3.0, 15.0, 0.30, 3.75)),
    Model("claude-haiku-4-5-20251001", "claude-haiku-4-5", "anthropic", 0.20, (1.0, 5.0, 0.10, 1.25)),
    Model("claude-opus-4-1-20250805", "claude-opus-4-1", "anthropic", 0.10, (15.0, 75.0, 1.50, 18.75)),
    Model("claude-sonnet-4-20250514", "claude-sonnet-4", "anthropic", 0.12, (3.0, 15.0, 0.30, 3.75)),
    Model("claude-3-5-haiku-20241022", "claude-3-5-haiku", "anthropic", 0.08, (0.8, 4.0, 0.08, 1.0)),
    Model("gpt-4.1-2025-04-14", "gpt-4.1", "openai", 0.05, (2.0, 8.0, 0.50, 0.0)),
    Model("gpt-4o-2024-08-06", "gpt-4o", "openai", 0.03, (2.5, 10.0, 1.25, 0.0)),
)
TOOLS = ("Read", "Bash", "Edit", "Grep", "Glob", "TodoWrite", "Write", "Task", "MultiEdit", "WebFetch", "Skill")
TOOL_WEIGHTS = (0.25, 0.18, 0.15, 0.10, 0.07, 0.07, 0.05, 0.04, 0.03, 0.03, 0.03)
EDIT_TOOLS = {"Edit", "Write", "MultiEdit"}
TEAMS = ("payments", "platform", "data", "mobile", "infra", "growth")
REPOS = (
    "payments-api", "ledger", "web-frontend", "mobile-app", "infra-terraform", "data-pipelines",
    "auth-service", "search", "billing-ui", "ml-features", "docs-site", "cli-tools",
)
FIRST_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
    "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin", "zoe", "arjun", "bea", "chen",
    "dmitri", "elena", "farid", "gita", "hiro", "ines", "jonas", "kemal", "lena", "mateo", "nora", "oskar",
    "priya", "quinn", "rosa", "sven", "tara", "uma", "vikram", "wen", "xavier", "yuki", "zara", "omar",
)
LLM_ERRORS = (
    "litellm.RateLimitError: AnthropicException - rate_limit_error: Number of request tokens has exceeded your per-minute rate limit",
    "litellm.InternalServerError: AnthropicException - Overloaded",
    "litellm.Timeout: Connection timed out after 600.0 seconds.",
    "litellm.BadRequestError: prompt is too long: 212431 tokens > 200000 maximum",
)
TOOL_ERRORS = (
    "Error: File has not been read yet. Read it first before writing to it.",
    "Error: String to replace not found in file.",
    "Command failed with exit code 1",
    "Error: ENOENT: no such file or directory",
)
REJECTED = (
    "The user doesn't want to proceed with this tool use. The tool use was rejected "
    "(eg. if it was a file edit, the new_string was NOT written to the file)."
)
WORDS = (
    "refactor the handler so retries back off exponentially and log the request id; the tests in "
    "tests/test_client.py fail on CI with a timeout; please add a fixture for the database session, "
    "keep the public API unchanged, update the docstring and the changelog, then run the linter and "
    "explain what you changed and why the previous implementation leaked connections under load"
).split()
POOL = 256
SHAPE = 4  # a lake built before a change to the synthetic spans is built again (bench.run's marker)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Draw:
    """One synthetic batch of spans as parallel arrays (index = span)."""

    span_key: np.ndarray  # uint64, unique per (seed, span)
    trace_key: np.ndarray  # uint64, unique per (seed, trace)
    root_key: np.ndarray  # uint64 span_key of the trace's root span
    session_key: np.ndarray  # uint64
    is_root: np.ndarray  # bool
    is_tool: np.ndarray  # bool
    legacy_kind: np.ndarray  # bool: tool span written as UNKNOWN without tool.name (older data)
    start_ms: np.ndarray  # int64 epoch ms
    end_ms: np.ndarray  # int64 epoch ms
    developer: np.ndarray  # int index into FIRST_NAMES
    repo: np.ndarray  # int index into REPOS
    model: np.ndarray  # int index into MODELS
    tokens_in: np.ndarray  # int64 (prompt, includes cache reads and writes)
    tokens_out: np.ndarray
    cache_read: np.ndarray
    cache_write: np.ndarray
    tool: np.ndarray  # int index into TOOLS
    variant: np.ndarray  # int index into the text pools
    is_error: np.ndarray  # bool
    error_pick: np.ndarray  # int index into the error pools
    rejected: np.ndarray  # bool: an edit the user rejected

    @property
    def n(self) -> int:
        return len(self.span_key)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection on uint64, so distinct keys give distinct ids."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


_HEX = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint8).reshape(256, 2)


def hex_ids(keys: np.ndarray, words: int = 1, salt: int = 0) -> pa.Array:
    """16 hex chars per 64-bit word of mixed key: span ids (1 word) and trace ids (2 words)."""
    parts = []
    for word in range(words):
        mixed = _mix(keys ^ np.uint64((salt * 0x9E3779B97F4A7C15 + word * 0xD1B54A32D192ED03) % 2**64))
        parts.append(_HEX[mixed.astype(">u8").view(np.uint8).reshape(-1, 8)].reshape(-1, 16))
    chars = np.concatenate(parts, axis=1) if words > 1 else parts[0]
    width = 16 * words
    offsets = np.arange(0, width * (len(keys) + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(len(keys), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def _group_sizes(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Random group sizes in [low, high] that sum to exactly `total`."""
    sizes = rng.integers(low, high + 1, size=total // low + 1)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, total)) + 1
    sizes = sizes[:count]
    sizes[-1] -= int(ends[count - 1] - total)
    return sizes[sizes > 0]


def _within_group_cumsum(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Running sum of values restarting at each group, exclusive of the current element."""
    total = np.cumsum(values) - values
    starts = np.repeat(total[np.cumsum(sizes) - sizes], sizes)
    return total - starts


def draw(n: int, start_ms: int, end_ms: int, seed: int) -> Draw:
    """n spans starting in [start_ms, end_ms), grouped into traces and sessions."""
    rng = np.random.default_rng(seed)
    base = np.uint64(seed) << np.uint64(32)
    trace_sizes = _group_sizes(rng, n, 1, 8)
    traces = len(trace_sizes)
    session_sizes = _group_sizes(rng, traces, 4, 36)
    sessions = len(session_sizes)
    trace_of_span = np.repeat(np.arange(traces), trace_sizes)
    session_of_trace = np.repeat(np.arange(sessions), session_sizes)
    first_of_trace = np.cumsum(trace_sizes) - trace_sizes
    pos = np.arange(n) - first_of_trace[trace_of_span]

    # Who: developers are Zipf-ish (a few heavy users), each with home repos and a favourite model.
    dev_weights = 1.0 / np.arange(1, len(FIRST_NAMES) + 1) ** 0.8
    session_dev = rng.choice(len(FIRST_NAMES), size=sessions, p=dev_weights / dev_weights.sum())
    session_repo = (session_dev * 5 + rng.integers(0, 3, size=sessions)) % len(REPOS)
    model_weights = np.array([m.weight for m in MODELS])
    trace_model = rng.choice(len(MODELS), size=traces, p=model_weights / model_weights.sum())
    favourite = session_dev % 3  # sonnet, haiku or opus
    keep_favourite = rng.random(traces) < 0.5
    trace_model = np.where(keep_favourite, favourite[session_of_trace], trace_model)

    # When: sessions uniformly over the window, traces about a minute apart, spans seconds apart.
    span_ms = max(end_ms - start_ms, 1)
    session_start = start_ms + (rng.random(sessions) * span_ms).astype(np.int64)
    gaps = rng.exponential(50_000, size=traces).astype(np.int64) + 5_000
    trace_start = session_start[session_of_trace] + _within_group_cumsum(gaps, session_sizes)

    is_root = pos == 0
    is_tool = ~is_root & (rng.random(n) < 0.75)
    legacy_kind = is_tool & (rng.random(n) < 0.2)
    tool = rng.choice(len(TOOLS), size=n, p=np.array(TOOL_WEIGHTS) / sum(TOOL_WEIGHTS))
    llm_latency = rng.lognormal(np.log(4_000), 0.6, size=n)
    tool_latency = rng.lognormal(np.log(150), 1.0, size=n) * np.where(tool == TOOLS.index("Bash"), 8, 1)
    latency = np.where(is_tool, tool_latency, llm_latency).astype(np.int64) + 1
    offset = np.where(is_root, 0, (pos * 2_500 + rng.integers(0, 2_000, size=n)))
    # Late sessions wrap to the window's start, so every span stays inside it and times stay uniform.
    start = start_ms + (trace_start[trace_of_span] + offset - start_ms) % span_ms
    end = start + latency

    # Usage: Claude Code prompts are large and mostly cache reads.
    is_llm = ~is_tool
    prompt = (rng.lognormal(np.log(18_000), 0.9, size=n) + 200).astype(np.int64)
    cache_read = (prompt * rng.uniform(0.5, 0.95, size=n)).astype(np.int64)
    cache_write = (prompt * rng.uniform(0.0, 0.1, size=n)).astype(np.int64)
    completion = (rng.lognormal(np.log(350), 1.0, size=n) + 5).astype(np.int64)
    zero = np.zeros(n, dtype=np.int64)

    is_error = np.where(is_tool, rng.random(n) < 0.03, rng.random(n) < 0.02)
    rejected = is_tool & np.isin(tool, [TOOLS.index(t) for t in EDIT_TOOLS]) & (rng.random(n) < 0.12) & ~is_error

    span_key = base | np.arange(n, dtype=np.uint64)
    trace_key = base | trace_of_span.astype(np.uint64)
    return Draw(
        span_key=span_key,
        trace_key=trace_key,
        root_key=span_key[first_of_trace[trace_of_span]],
        session_key=base | session_of_trace[trace_of_span].astype(np.uint64),
        is_root=is_root,
        is_tool=is_tool,
        legacy_kind=legacy_kind,
        start_ms=start,
        end_ms=end,
        developer=session_dev[session_of_trace][trace_of_span],
        repo=session_repo[session_of_trace][trace_of_span],
        model=trace_model[trace_of_span],
        tokens_in=np.where(is_llm, prompt, zero),
        tokens_out=np.where(is_llm, completion, zero),
        cache_read=np.where(is_llm, cache_read, zero),
        cache_write=np.where(is_llm, cache_write, zero),
        tool=tool,
        variant=rng.integers(0, POOL, size=n),
        is_error=is_error,
        error_pick=rng.integers(0, 4, size=n),
        rejected=rejected,
    )


# ---- text pools (a few hundred strings, built once) -------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(WORDS, k=words))


def _prompt_pool(rng: random.Random) -> list[str]:
    pool = [_sentence(rng, rng.randint(25, 75)) for _ in range(POOL)]
    # A few prompts carry secrets and PII, as real ones do, to exercise redaction.
    pool[7] += " my key is sk-ant-api03-" + "Q" * 40
    pool[99] += " mail me at jane.doe@example.com"
    return pool


def _tool_input(tool: str, rng: random.Random, repo: str) -> dict[str, object]:
    root = f"/home/dev/src/{repo}"
    path = f"{root}/src/{rng.choice(['client', 'handlers', 'models', 'utils'])}_{rng.randint(1, 40)}.py"

    def text(low: int, high: int) -> str:
        return "\n".join(_sentence(rng, 6) for _ in range(rng.randint(low, high)))

    inputs = {
        "Read": lambda: {"file_path": path},
        "Bash": lambda: {"command": f"cd {root} && pytest -q tests/ -k {rng.choice(WORDS)}", "description": "Run tests"},
        "Edit": lambda: {"file_path": path, "old_string": text(1, 3), "new_string": text(1, 7)},
        "Grep": lambda: {"pattern": rng.choice(WORDS), "path": root, "output_mode": "content"},
        "Glob": lambda: {"pattern": "**/*.py", "path": root},
        "TodoWrite": lambda: {"todos": [{"content": _sentence(rng, 5), "status": "pending", "activeForm": _sentence(rng, 3)}]},
        "Write": lambda: {"file_path": path, "content": text(2, 12)},
        "Task": lambda: {"description": _sentence(rng, 4), "prompt": _sentence(rng, 30), "subagent_type": "general-purpose"},
        "MultiEdit": lambda: {"file_path": path, "edits": [{"old_string": text(1, 2), "new_string": text(1, 4)}, {"old_string": "a", "new_string": "b"}]},
        "WebFetch": lambda: {"url": f"https://docs.python.org/3/library/{rng.choice(['asyncio', 'json', 'sqlite3'])}.html", "prompt": _sentence(rng, 8)},
        "Skill": lambda: {"command": "pdf"},
    }
    return inputs[tool]()


def _tool_pool(rng: random.Random) -> list[str]:
    """POOL JSON inputs per tool, laid out tool-major: index = tool * POOL + variant."""
    return [json.dumps(_tool_input(t, rng, REPOS[v % len(REPOS)])) for t in TOOLS for v in range(POOL)]


@dataclass(frozen=True)
class Pools:
    prompts: pl.Series
    answers: pl.Series
    tool_inputs: pl.Series
    tool_outputs: pl.Series
    account: pl.Series
    device: pl.Series

    @classmethod
    def build(cls, seed: int = 7) -> "Pools":
        rng = random.Random(seed)
        devs = len(FIRST_NAMES)
        account = hex_ids(np.arange(devs, dtype=np.uint64), words=2, salt=11).to_pylist()
        return cls(
            prompts=pl.Series(_prompt_pool(rng)),
            answers=pl.Series([_sentence(rng, rng.randint(10, 45)) for _ in range(POOL)]),
            tool_inputs=pl.Series(_tool_pool(rng)),
            tool_outputs=pl.Series([f"{rng.randint(1, 400)} lines; " + _sentence(rng, rng.randint(8, 30)) for _ in range(POOL)]),
            account=pl.Series([f"{a[:8]}-{a[8:12]}-{a[12:16]}-{a[16:20]}-{a[20:]}" for a in account]),
            device=pl.Series(hex_ids(np.arange(devs, dtype=np.uint64), words=1, salt=13).to_pylist()),
        )


def _take(series: pl.Series, index: np.ndarray) -> pl.Series:
    return series.gather(pl.Series(index.astype(np.uint32)))


def _session_uuid(keys: np.ndarray) -> pl.Series:
    hex32 = pl.Series(hex_ids(keys, words=2, salt=5))
    return pl.select(
        pl.concat_str(
            [hex32.str.slice(0, 8), hex32.str.slice(8, 4), hex32.str.slice(12, 4), hex32.str.slice(16, 4), hex32.str.slice(20, 12)],
            separator="-",
        )
    ).to_series()


def _lookup(values: list[str], index: np.ndarray) -> pl.Series:
    return _take(pl.Series(values), index)


# ---- the flat export --------------------------------------------------------------------------


def flat_frame(d: Draw, pools: Pools) -> pl.DataFrame:
    """The draw as the Arize flat export: one row per span, one column per attribute."""
    tool_names = _lookup(list(TOOLS), d.tool)
    models = [m.raw for m in MODELS]
    frame = pl.DataFrame(
        {
            "is_tool": d.is_tool,
            "legacy": d.legacy_kind,
            "root": d.is_root,
            "error": d.is_error,
            "rejected": d.rejected,
            "tool": tool_names,
            "model": _lookup(models, d.model),
            "provider": _lookup([m.provider for m in MODELS], d.model),
            "span_id": pl.Series(hex_ids(d.span_key)),
            "trace_id": pl.Series(hex_ids(d.trace_key, words=2, salt=3)),
            "parent": pl.Series(hex_ids(d.root_key)),
            "start": d.start_ms,
            "end": d.end_ms,
            "tin": d.tokens_in.astype(np.float64),
            "tout": d.tokens_out.astype(np.float64),
            "cread": d.cache_read.astype(np.float64),
            "cwrite": d.cache_write.astype(np.float64),
            "session": _session_uuid(d.session_key),
            "account": _take(pools.account, d.developer),
            "device": _take(pools.device, d.developer),
            "dev": _lookup(list(FIRST_NAMES), d.developer),
            "repo": _lookup(list(REPOS), d.repo),
            "llm_error": _lookup(list(LLM_ERRORS), d.error_pick),
            "tool_error": _lookup(list(TOOL_ERRORS), d.error_pick),
            "prompt": _take(pools.prompts, d.variant),
            "answer": _take(pools.answers, d.variant),
            "tool_input": _take(pools.tool_inputs, d.tool * POOL + d.variant),
            "tool_output": _take(pools.tool_outputs, d.variant),
        }
    )
    tool_span = pl.col("is_tool")
    llm_span = ~tool_span
    q = '\\"'  # an escaped quote inside the JSON string user_api_key_end_user_id
    end_user = pl.concat_str(
        [pl.lit("{" + q + "device_id" + q + ": " + q), pl.col("device"), pl.lit(q + ", " + q + "account_uuid" + q + ": " + q),
         pl.col("account"), pl.lit(q + ", " + q + "session_id" + q + ": " + q), pl.col("session"), pl.lit(q + "}")]
    )
    metadata = pl.concat_str(
        [pl.lit('{"user_api_key_end_user_id": "'), end_user,
         pl.lit('", "usage_object": {"cache_read_input_tokens": '), pl.col("cread").cast(pl.Int64).cast(pl.String),
         pl.lit(', "cache_creation_input_tokens": '), pl.col("cwrite").cast(pl.Int64).cast(pl.String),
         pl.lit('}, "cwd": "/home/'), pl.col("dev"), pl.lit("/src/"), pl.col("repo"),
         pl.lit('", "model_group": "'), pl.col("model"), pl.lit('"}')]
    )
    tool_use = pl.concat_str(
        [pl.lit('{"type": "tool_use", "id": "toolu_'), pl.col("span_id"), pl.lit('", "name": "'), pl.col("tool"),
         pl.lit('", "input": '), pl.col("tool_input"), pl.lit("}")]
    )
    llm_only = lambda expr: pl.when(llm_span).then(expr)  # noqa: E731 - a column present on LLM spans only
    return frame.select(
        pl.when(tool_span).then(pl.lit("Claude_Code_Tool_") + pl.col("tool")).otherwise(pl.lit("litellm_request")).alias("name"),
        pl.when(~tool_span).then(pl.lit("LLM")).when(pl.col("legacy")).then(pl.lit("UNKNOWN")).otherwise(pl.lit("TOOL")).alias("span_kind"),
        pl.when(~pl.col("root")).then(pl.col("parent")).alias("parent_id"),
        pl.col("start").alias("start_time"),
        pl.col("end").alias("end_time"),
        pl.when(pl.col("error")).then(pl.lit("ERROR")).otherwise(pl.lit("OK")).alias("status_code"),
        pl.when(pl.col("error")).then(pl.when(tool_span).then(pl.col("tool_error")).otherwise(pl.col("llm_error")))
        .otherwise(pl.lit("")).alias("status_message"),
        pl.col("span_id").alias("context.span_id"),
        pl.col("trace_id").alias("context.trace_id"),
        llm_only(pl.col("provider")).alias("attributes.llm.provider"),
        llm_only(pl.col("model")).alias("attributes.llm.model_name"),
        llm_only(pl.col("tin")).alias("attributes.llm.token_count.prompt"),
        llm_only(pl.col("tout")).alias("attributes.llm.token_count.completion"),
        llm_only(pl.col("tin") + pl.col("tout")).alias("attributes.llm.token_count.total"),
        llm_only(pl.col("cread")).alias("attributes.llm.token_count.prompt_details.cache_read"),
        llm_only(pl.col("cwrite")).alias("attributes.llm.token_count.prompt_details.cache_write"),
        llm_only(metadata).alias("attributes.metadata"),
        pl.when(tool_span & ~pl.col("legacy")).then(pl.col("tool")).alias("attributes.tool.name"),
        pl.when(tool_span).then(tool_use).otherwise(pl.col("prompt")).alias("attributes.input.value"),
        pl.when(tool_span & pl.col("rejected")).then(pl.lit(REJECTED))
        .when(tool_span).then(pl.col("tool_output")).otherwise(pl.col("answer")).alias("attributes.output.value"),
    )


def window_ms(days: float, end: datetime | None = None) -> tuple[int, int]:
    """[start, end) in epoch ms: `days` ending at `end` (default: the start of today, UTC)."""
    end = end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    end_ms = int(end.timestamp() * 1000)
    return end_ms - int(days * DAY_MS), end_ms


def write_export(path: Path, spans: int, days: float = 30.0, seed: int = 1, chunk: int = 250_000,
                 ordered: bool = False) -> int:
    """Write a flat JSONL export of `spans` spans over the last `days` days; returns its size in bytes.
    Each chunk of spans is drawn over the whole window, or (`ordered`, as an export paged by time
    is) over its own stretch of it, one after another."""
    pools = Pools.build()
    start_ms, end_ms = window_ms(days)
    chunks = -(-spans // chunk)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for number, first in enumerate(range(0, spans, chunk)):
            low, high = start_ms, end_ms
            if ordered:
                low = start_ms + (end_ms - start_ms) * number // chunks
                high = start_ms + (end_ms - start_ms) * (number + 1) // chunks
            d = draw(min(chunk, spans - first), low, high, seed=seed * 1000 + number)
            flat_frame(d, pools).write_ndjson(handle)
    return path.stat().st_size


# ---- a ready lake -----------------------------------------------------------------------------


def ingest_metadata(flat: pl.DataFrame) -> pl.Series:
    """`metadata` as ingest writes it for these flat records: each record's JSON without what the
    span's columns hold (fields.IN_COLUMNS, IN_COLUMN_ATTRIBUTES, and the token total, which is
    always prompt plus completion here), without the bulky content (kept as previews) and
    without null values. Rows with the same null columns are encoded together (a handful of
    patterns: the kinds, with and without errors)."""
    attributes = CONTENT_KEYS + IN_COLUMN_ATTRIBUTES + DERIVED_ATTRIBUTES
    left_out = {spec for field in IN_COLUMNS for spec in TOP_LEVEL[field]} | {f"attributes.{key}" for key in attributes}
    kept = [c for c in flat.columns if c not in left_out]
    rows = flat.select(kept).with_row_index("_row").with_columns(
        pl.concat_str([pl.col(c).is_null().cast(pl.UInt8).cast(pl.Utf8) for c in kept]).alias("_nulls"))
    parts = []
    for pattern in rows["_nulls"].unique().to_list():
        present = [c for c, null in zip(kept, pattern) if null == "0"]
        part = rows.filter(pl.col("_nulls") == pattern)
        encoded = pl.struct(present).struct.json_encode() if present else pl.lit("{}")
        parts.append(part.select("_row", encoded.alias("metadata")))
    return pl.concat(parts).sort("_row")["metadata"]


def canonical_table(d: Draw, pools: Pools, run_id: str, ingested_at: datetime) -> pa.Table:
    """The draw as canonical spans (what normalize would produce), in SPAN_SCHEMA."""
    flat = flat_frame(d, pools)
    rates = np.array([m.usd_per_mtok for m in MODELS]) / 1e6
    r = rates[d.model]
    uncached = np.maximum(d.tokens_in - d.cache_read - d.cache_write, 0)
    cost = uncached * r[:, 0] + d.tokens_out * r[:, 1] + d.cache_read * r[:, 2] + d.cache_write * r[:, 3]
    edit = d.is_tool & np.isin(d.tool, [TOOLS.index(t) for t in EDIT_TOOLS])
    accepted = edit & ~d.rejected & ~d.is_error
    lines = np.where(accepted, 1 + d.variant % 40, 0)
    llm = ~d.is_tool
    team_of_dev = np.array([i % len(TEAMS) for i in range(len(FIRST_NAMES))])
    frame = pl.DataFrame(
        {
            "span_id": flat["context.span_id"],
            "trace_id": flat["context.trace_id"],
            "parent_span_id": flat["parent_id"],
            "name": flat["name"],
            "span_kind": np.where(d.is_tool, "TOOL", "LLM"),
            "source": pl.repeat("file", d.n, eager=True),
            "project": pl.repeat("default", d.n, eager=True),
            "service_name": np.where(d.is_tool, "claude-code", "litellm"),
            "session_id": _session_uuid(d.session_key),
            "developer_id": _lookup(list(FIRST_NAMES), d.developer),
            "team": _lookup(list(TEAMS), team_of_dev[d.developer]),
            "repo_slug": _lookup(list(REPOS), d.repo),
            "start_time": (d.start_ms * 1000).astype("datetime64[us]"),
            "end_time": (d.end_ms * 1000).astype("datetime64[us]"),
            "latency_ms": (d.end_ms - d.start_ms).astype(np.float64),
            "status": np.where(d.is_error, "ERROR", "OK"),
            "error_message": flat["status_message"].replace("", None),
            "model": pl.Series([m.name for m in MODELS]).gather(pl.Series(d.model.astype(np.uint32))),
            "provider": pl.Series([m.provider for m in MODELS]).gather(pl.Series(d.model.astype(np.uint32))),
            "tokens_in": d.tokens_in,
            "tokens_out": d.tokens_out,
            "cache_read_tokens": d.cache_read,
            "cache_write_tokens": d.cache_write,
            "cost_usd": cost,
            "price_status": np.where(llm, "computed", "no_usage"),
            "tool_name": _lookup(list(TOOLS), d.tool),
            "accepted_flag": accepted,
            "accepted_lines": lines.astype(np.int32),
            "diff_ratio": np.where(edit, (d.variant % 10) / 10.0, np.nan),
            "input_preview": flat["attributes.input.value"].str.slice(0, 300),
            "output_preview": flat["attributes.output.value"].str.slice(0, 300),
            "metadata": ingest_metadata(flat),
        }
    )
    frame = frame.with_columns(
        pl.when(pl.Series(llm)).then(pl.col(c)).alias(c)
        for c in ("model", "provider", "tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens", "cost_usd")
    ).with_columns(
        pl.when(pl.Series(d.is_tool)).then(pl.col("tool_name")).alias("tool_name"),
        *(pl.when(pl.Series(edit)).then(pl.col(c)).alias(c) for c in ("accepted_flag", "accepted_lines")),
        pl.col("diff_ratio").fill_nan(None),
        pl.col("start_time").dt.date().alias("event_date"),
        pl.lit(ingested_at.replace(tzinfo=None)).cast(pl.Datetime("us")).alias("ingested_at"),
        pl.lit(run_id).alias("run_id"),
    )
    return frame.select(SPAN_SCHEMA.names).to_arrow().cast(SPAN_SCHEMA)


def _write_day(spans_dir: Path, day: date, per_day: int, seed: int, run_id: str, ingested_at: datetime) -> int:
    start_ms = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    table = canonical_table(draw(per_day, start_ms, start_ms + DAY_MS, seed), Pools.build(), run_id, ingested_at)
    target = partition_dir(spans_dir, day) / f"part-{run_id}-{day.isoformat()}.parquet"
    write_span_file(table.drop_columns(["event_date"]).cast(FILE_SCHEMA), target)  # as ingest and compaction write a day
    return table.num_rows


def build_lake(settings: Settings, days: int, per_day: int, seed: int = 42, end: date | None = None) -> int:
    """Write `days` daily partitions of `per_day` spans ending yesterday (UTC), their rollups
    (as ingest writes them), then the views."""
    last = end or datetime.now(timezone.utc).date() - timedelta(days=1)
    run_id = "synth-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    ingested_at = datetime.now(timezone.utc)
    dates = [last - timedelta(days=back) for back in range(days)]
    with ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        jobs = [
            pool.submit(_write_day, settings.spans_dir, day, per_day, seed * 100_000 + back, run_id, ingested_at)
            for back, day in enumerate(dates)
        ]
        total = sum(job.result() for job in jobs)
    rollups.rebuild(settings)
    warehouse.build(settings)
    return total


def identity_yaml(path: Path) -> Path:
    """An identity file mapping each synthetic account and device to its developer and team."""
    pools = Pools.build()
    lines = ["developers:"]
    for i, name in enumerate(FIRST_NAMES):
        lines += [f"  {name}:", f"    team: {TEAMS[i % len(TEAMS)]}", f"    aliases: [{pools.account[i]}, {pools.device[i]}]"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.synth", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write a flat JSONL export")
    export.add_argument("path", type=Path)
    export.add_argument("--spans", type=int, default=1_000_000)
    export.add_argument("--days", type=float, default=30.0)
    lake = commands.add_parser("lake", help="write a canonical lake and build its views")
    lake.add_argument("data_dir", type=Path)
    lake.add_argument("--days", type=int, default=100)
    lake.add_argument("--per-day", type=int, default=100_000)
    args = parser.parse_args()
    clock = time.perf_counter()
    if args.command == "export":
        size = write_export(args.path, args.spans, args.days)
        print(f"{args.spans:,} spans, {size / 1e6:,.0f} MB in {time.perf_counter() - clock:.1f}s -> {args.path}")
    else:
        total = build_lake(Settings(data_dir=args.data_dir.resolve()), args.days, args.per_day)
        print(f"{total:,} spans over {args.days} days in {time.perf_counter() - clock:.1f}s -> {args.data_dir}")


if __name__ == "__main__":
    main()
