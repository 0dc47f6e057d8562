-- cost_save_retries: one row per error type of failed model calls (LLM spans with status ERROR,
-- not LiteLLM's raw copies) in the window. Screen: Cost (optimization suggestions).
-- A failed call is retried when a request of the same session starts within $retry_within_s
-- seconds of its end (the retry is the first such request, found with an ASOF join).
-- known_cost_usd is what the failed calls reported; failed calls usually report no usage, so
-- est_prompt_cost_usd prices the retry's prompt once more at the failed model's per-token rates
-- (bound lists $rate_models, $rate_providers, $rate_input, $rate_cache_read, $rate_cache_write from
-- genai-prices): the prompt was sent twice. That is an upper bound (providers do not bill every
-- rejected call). wasted_usd = known + estimated; monthly = scaled to 30 days of data.
WITH rates AS (
    SELECT unnest($rate_models) AS model, unnest($rate_providers) AS provider, unnest($rate_input) AS input_rate,
           unnest($rate_cache_read) AS cache_read_rate, unnest($rate_cache_write) AS cache_write_rate
),
calls AS (
    SELECT *
    FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE is_request OR (span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request')
),
failed AS (
    SELECT * FROM calls WHERE is_error
),
retries AS (
    SELECT
        f.span_id, f.error_message, f.cost_usd, f.model, f.provider,
        r.start_time <= coalesce(f.end_time, f.start_time) + to_seconds(CAST($retry_within_s AS BIGINT)) AS retried,
        r.tokens_in AS retry_tokens_in, r.cache_read_tokens AS retry_cache_read, r.cache_write_tokens AS retry_cache_write
    FROM failed AS f
    ASOF LEFT JOIN (SELECT * FROM calls WHERE is_request AND NOT is_error) AS r
        ON r.session_id = f.session_id AND r.start_time > f.start_time
),
priced AS (
    SELECT
        t.*,
        CASE WHEN t.cost_usd IS NULL AND t.retried THEN
            p.input_rate * greatest(t.retry_tokens_in - coalesce(t.retry_cache_read, 0) - coalesce(t.retry_cache_write, 0), 0)
            + p.cache_read_rate * coalesce(t.retry_cache_read, 0) + p.cache_write_rate * coalesce(t.retry_cache_write, 0)
        END AS est_prompt_cost_usd
    FROM retries AS t
    LEFT JOIN rates AS p ON p.model = t.model AND p.provider IS NOT DISTINCT FROM t.provider
),
data_days AS (
    SELECT greatest(date_diff('day', min(event_date), max(event_date)) + 1, 1) AS days
    FROM filtered_hourly($start, $end, $developers, $teams, $models, $services, $repos)
),
by_type AS (
    SELECT
        coalesce(nullif(regexp_extract(error_message, '([A-Za-z]*(Error|Exception|Timeout))', 1), ''),
                 left(coalesce(error_message, '(no message)'), 60)) AS error_type,
        count(*) AS failed_calls,
        count(*) FILTER (WHERE retried) AS retried,
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
