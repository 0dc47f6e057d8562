"""Cost per (model, usage) from genai-prices, priced once per distinct model.

A model's price is linear in each usage part within a tier, so we ask the library for
the per-token rates of each tier (a handful of calls per model) and let SQL apply them
to every row. The result equals `genai_prices.calc_price` for the same usage.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Iterable, Iterator

import pyarrow as pa

# genai_prices is imported where a price is first asked for: loading its price database takes a
# tenth of a second, which a run of spans the lake already holds never needs.

MAX_TOKENS = 2**62


@dataclass(frozen=True)
class TierRates:
    """USD per token for one tier, valid while `low < tokens_in <= high`."""

    low: int
    high: int
    uncached_input: float
    cache_read: float
    cache_write: float
    output: float
    per_request: float


def _price(model: str, provider: str | None, **usage: int) -> Decimal:
    from genai_prices import Usage, calc_price

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(Usage(**usage), model, provider_id=provider or None).total_price


def _tier_starts(model: str, provider: str | None) -> list[int]:
    from genai_prices import Usage, calc_price
    from genai_prices.types import TieredPrices

    model_price = calc_price(Usage(input_tokens=1), model, provider_id=provider or None).model_price
    starts = {
        tier.start
        for value in vars(model_price).values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    }
    return sorted(starts)


def _rates_at(model: str, provider: str | None, low: int, high: int) -> TierRates:
    n = low + 1  # total input tokens that fall in this tier
    base = _price(model, provider, input_tokens=n)
    per_input = _price(model, provider, input_tokens=n + 1) - base
    per_request = base - per_input * n
    return TierRates(
        low=low,
        high=high,
        uncached_input=float(per_input),
        cache_read=float((_price(model, provider, input_tokens=n, cache_read_tokens=n) - per_request) / n),
        cache_write=float((_price(model, provider, input_tokens=n, cache_write_tokens=n) - per_request) / n),
        output=float(_price(model, provider, input_tokens=n, output_tokens=1) - base),
        per_request=float(per_request),
    )


# Bedrock's own ids (us.anthropic.claude-…-v1:0, global.anthropic.…) are priced under AWS.
BEDROCK_ID = re.compile(r"^([a-z]{2,4}(-gov)?\.|global\.)?anthropic\.")


def _names(model: str, provider: str | None) -> Iterator[tuple[str, str | None]]:
    """The (model, provider) pairs a span's model may be priced as, best first: as written, then
    without LiteLLM's route prefixes (`bedrock/…`, `vertex_ai/…`, `openrouter/anthropic/…`), the
    first route naming the provider when the span does not, then a bare Bedrock id as AWS's."""
    yield model, provider
    rest, route = model, None
    while "/" in rest:
        head, rest = rest.split("/", 1)
        route = route or head.strip().lower()
        yield rest, provider or route
    if BEDROCK_ID.match(rest.strip().lower()):
        yield rest, "aws"


@lru_cache(maxsize=4096)
def model_rates(model: str, provider: str | None) -> tuple[TierRates, ...]:
    """Every tier's rates for one model; empty when the price database does not know it."""
    for name, route in _names(model, provider):
        for provider_id in dict.fromkeys((route, None)):
            try:
                starts = _tier_starts(name, provider_id)
            except LookupError:
                continue
            bounds = [0, *starts, MAX_TOKENS]
            return tuple(_rates_at(name, provider_id, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1))
    return ()


RATES_SCHEMA = pa.schema(
    [
        ("model_raw", pa.string()),
        ("provider_raw", pa.string()),
        ("low", pa.int64()),
        ("high", pa.int64()),
        ("uncached_input", pa.float64()),
        ("cache_read", pa.float64()),
        ("cache_write", pa.float64()),
        ("output", pa.float64()),
        ("per_request", pa.float64()),
    ]
)


def rates_table(models: Iterable[tuple[str, str | None]]) -> pa.Table:
    """Rates for each distinct (model, provider) seen in a batch, as rows SQL can join."""
    rows: list[dict[str, object]] = []
    for model, provider in models:
        for tier in model_rates(model, provider):
            rows.append({"model_raw": model, "provider_raw": provider, **vars(tier)})
    return pa.Table.from_pylist(rows, schema=RATES_SCHEMA)
