"""Cost per (model, usage) from genai-prices, priced once per distinct model.

A model's price is linear in each usage part within a tier, so we ask the library for
the per-token rates of each tier (a handful of calls per model) and let SQL apply them
to every row. A price that changed on a date (a long-context rate cut, say) gives one set of
tiers per period. The result equals `genai_prices.calc_price` for the same usage at the span's
start time.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Iterable, Iterator

import pyarrow as pa

# genai_prices is imported where a price is first asked for: loading its price database takes a
# tenth of a second, which a run of spans the lake already holds never needs.

MAX_TOKENS = 2**62
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(9999, 12, 31)
"""Naive UTC bounds of a price period: the span's start time falls in [valid_from, valid_until)."""


@dataclass(frozen=True)
class TierRates:
    """USD per token for one tier of one price period, valid while `low < tokens_in <= high`
    for a span that starts in [valid_from, valid_until)."""

    valid_from: datetime
    valid_until: datetime
    low: int
    high: int
    uncached_input: float
    cache_read: float
    cache_write: float
    output: float
    per_request: float


def _price(model: str, provider: str | None, when: datetime, **usage: int) -> Decimal:
    from genai_prices import Usage, calc_price

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(Usage(**usage), model, provider_id=provider or None, genai_request_timestamp=when).total_price


def _price_dates(model: str, provider: str | None) -> list[date]:
    """The days (UTC) on which the model's price changed: each starts a period."""
    from genai_prices import Usage, calc_price
    from genai_prices.types import StartDateConstraint

    prices = calc_price(Usage(input_tokens=1), model, provider_id=provider or None).model.prices
    if not isinstance(prices, list):
        return []
    return sorted({p.constraint.start_date for p in prices if isinstance(p.constraint, StartDateConstraint)})


def _tier_starts(model: str, provider: str | None, when: datetime) -> list[int]:
    from genai_prices import Usage, calc_price
    from genai_prices.types import TieredPrices

    model_price = calc_price(Usage(input_tokens=1), model, provider_id=provider or None,
                             genai_request_timestamp=when).model_price
    starts = {
        tier.start
        for value in vars(model_price).values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    }
    return sorted(starts)


def _rates_at(model: str, provider: str | None, period: tuple[datetime, datetime], low: int, high: int) -> TierRates:
    when = period[0].replace(tzinfo=timezone.utc)
    n = low + 1  # total input tokens that fall in this tier
    base = _price(model, provider, when, input_tokens=n)
    per_input = _price(model, provider, when, input_tokens=n + 1) - base
    per_request = base - per_input * n
    return TierRates(
        valid_from=period[0],
        valid_until=period[1],
        low=low,
        high=high,
        uncached_input=float(per_input),
        cache_read=float((_price(model, provider, when, input_tokens=n, cache_read_tokens=n) - per_request) / n),
        cache_write=float((_price(model, provider, when, input_tokens=n, cache_write_tokens=n) - per_request) / n),
        output=float(_price(model, provider, when, input_tokens=n, output_tokens=1) - base),
        per_request=float(per_request),
    )


def _period_rates(model: str, provider: str | None) -> tuple[TierRates, ...]:
    """Every tier of every price period of a model the price database knows (LookupError if not)."""
    days = [datetime.combine(day, datetime.min.time()) for day in _price_dates(model, provider)]
    bounds = [EARLIEST, *days, LATEST]
    rates: list[TierRates] = []
    for period in zip(bounds, bounds[1:]):
        tiers = [0, *_tier_starts(model, provider, period[0].replace(tzinfo=timezone.utc)), MAX_TOKENS]
        rates += [_rates_at(model, provider, period, low, high) for low, high in zip(tiers, tiers[1:])]
    return tuple(rates)


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


def model_rates(model: str, provider: str | None) -> tuple[TierRates, ...]:
    """Every tier's rates for one model as priced today; empty when the price database does not know it."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return tuple(rates for rates in model_periods(model, provider) if rates.valid_from <= now < rates.valid_until)


@lru_cache(maxsize=4096)
def model_periods(model: str, provider: str | None) -> tuple[TierRates, ...]:
    """Every tier of every price period of one model; empty when the price database does not know it."""
    for name, route in _names(model, provider):
        for provider_id in dict.fromkeys((route, None)):
            try:
                return _period_rates(name, provider_id)
            except LookupError:
                continue
    return ()


RATES_SCHEMA = pa.schema(
    [
        ("model_raw", pa.string()),
        ("provider_raw", pa.string()),
        ("valid_from", pa.timestamp("us")),
        ("valid_until", pa.timestamp("us")),
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
        for tier in model_periods(model, provider):
            rows.append({"model_raw": model, "provider_raw": provider, **vars(tier)})
    return pa.Table.from_pylist(rows, schema=RATES_SCHEMA)
