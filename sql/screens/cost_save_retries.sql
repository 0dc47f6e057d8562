-- cost_save_retries: one row per error type of failed model calls (LLM spans with status ERROR,
-- not LiteLLM's raw copies) in the window. Screen: Cost (optimization suggestions).
-- Rollup: cost_savings (kind 'failed'). A failed call is retried when the session's first
-- successful request after it (any model, in or after the window) starts within 300 s of its end.
-- known_cost_usd is what the failed calls reported; failed calls usually report no usage, so
-- est_prompt_cost_usd prices the retry's prompt once more at the failed model's per-token rates
-- (bound lists $rate_models, $rate_providers, $rate_input, $rate_cache_read, $rate_cache_write from
-- genai-prices): the prompt was sent twice. That is an upper bound (providers do not bill every
-- rejected call). wasted_usd = known + estimated; monthly = scaled to 30 days of data.
WITH rates AS (
    SELECT unnest($rate_models) AS model, unnest($rate_providers) AS provider, unnest($rate_input) AS input_rate,
           unnest($rate_cache_read) AS cache_read_rate, unnest($rate_cache_write) AS cache_write_rate
),
priced AS (
    SELECT
        f.error_type, f.calls, f.retried, f.cost_usd,
        p.input_rate * f.retry_uncached_in + p.cache_read_rate * f.retry_cache_read
            + p.cache_write_rate * f.retry_cache_write AS est_prompt_cost_usd
    FROM filtered_cost_savings($start, $end, $developers, $teams, $models, $services, $repos) AS f
    LEFT JOIN rates AS p ON p.model = f.model AND p.provider IS NOT DISTINCT FROM f.provider
    WHERE f.kind = 'failed'
),
data_days AS (
    SELECT greatest(date_diff('day', min(event_date), max(event_date)) + 1, 1) AS days
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
),
by_type AS (
    SELECT
        error_type,
        sum(calls) AS failed_calls,
        sum(retried) AS retried,
        coalesce(sum(cost_usd), 0) AS known_cost_usd,
        coalesce(sum(est_prompt_cost_usd), 0) AS est_prompt_cost_usd
    FROM priced
    GROUP BY 1
)
SELECT
    error_type,
    failed_calls,
    retried,
    known_cost_usd,
    est_prompt_cost_usd,
    known_cost_usd + est_prompt_cost_usd AS wasted_usd,
    (known_cost_usd + est_prompt_cost_usd) * 30 / days AS monthly_saving_usd,
    sum(failed_calls) OVER () AS total_failed,
    sum(retried) OVER () AS total_retried,
    sum(known_cost_usd + est_prompt_cost_usd) OVER () * 30 / days AS total_monthly_saving_usd
FROM by_type, data_days
ORDER BY wasted_usd DESC, failed_calls DESC;
