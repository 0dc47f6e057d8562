-- cost_save_model_downshift: one row per provider whose priciest model (among those used) gets short
-- prompts (tokens_in < $short_prompt_tokens). Screen: Cost (optimization suggestions).
-- Prices are bound parameters: per-token rates from genai-prices (lens_etl.pricing.model_rates, first
-- tier), as parallel lists $rate_models, $rate_providers, $rate_input, $rate_cache_read,
-- $rate_cache_write, $rate_output. moved_cost_usd re-prices the same usage at the provider's next
-- cheaper model in use (e.g. Opus -> Sonnet); the monthly saving scales the window's saving to 30 days of data
-- (total_monthly_saving_usd: all rows together). Rollup: cost_savings (kind 'request'; $short_prompt_tokens
-- must be one of its thresholds, pages/cost.py SHORT_PROMPT_OPTIONS).
WITH rates AS (
    SELECT unnest($rate_models) AS model, unnest($rate_providers) AS provider, unnest($rate_input) AS input_rate,
           unnest($rate_cache_read) AS cache_read_rate, unnest($rate_cache_write) AS cache_write_rate,
           unnest($rate_output) AS output_rate
),
ranked AS (
    SELECT *, dense_rank() OVER (PARTITION BY provider ORDER BY input_rate DESC) AS price_rank
    FROM rates
),
moves AS (
    SELECT e.provider, e.model AS from_model, c.model AS to_model,
           c.input_rate, c.cache_read_rate, c.cache_write_rate, c.output_rate
    FROM ranked AS e
    JOIN ranked AS c ON c.provider IS NOT DISTINCT FROM e.provider AND c.price_rank = 2
    WHERE e.price_rank = 1
    QUALIFY row_number() OVER (PARTITION BY e.provider, e.model ORDER BY c.output_rate, c.model) = 1
),
data_days AS (
    SELECT greatest(date_diff('day', min(event_date), max(event_date)) + 1, 1) AS days
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
),
short AS (
    -- requests under the threshold (one of the rollup's prompt_under values: the Cost screen's choices)
    SELECT
        m.provider, m.from_model, m.to_model, s.calls, s.cost_usd,
        m.input_rate * s.uncached_in + m.cache_read_rate * s.cache_read + m.cache_write_rate * s.cache_write
            + m.output_rate * s.tokens_out AS moved_cost_usd
    FROM filtered_cost_savings($start, $end, $developers, $teams, $models, $services, $repos) AS s
    JOIN moves AS m ON s.model = m.from_model AND s.provider IS NOT DISTINCT FROM m.provider
    WHERE s.kind = 'request' AND s.prompt_under <= $short_prompt_tokens
)
SELECT
    provider,
    from_model,
    to_model,
    sum(calls) AS requests,
    sum(sum(calls)) OVER () AS total_requests,
    sum(cost_usd) AS cost_usd,
    sum(moved_cost_usd) AS moved_cost_usd,
    sum(cost_usd) - sum(moved_cost_usd) AS saving_usd,
    (sum(cost_usd) - sum(moved_cost_usd)) * 30 / any_value(days) AS monthly_saving_usd,
    sum(sum(cost_usd) - sum(moved_cost_usd)) OVER () * 30 / any_value(days) AS total_monthly_saving_usd
FROM short, data_days
GROUP BY provider, from_model, to_model
ORDER BY monthly_saving_usd DESC;
