-- Screen: Overview, KPI row. Grain: one row for the filtered window
-- (the page runs it again over the previous window of the same length for the deltas).
-- requests = is_request spans; cost and tokens sum every span (as daily_metrics does);
-- error rate = share of model calls that ended in ERROR; a model call is a request or a failed LLM
-- call (not LiteLLM's raw copy): Claude Code's synthesized prompt and output spans are not calls.
-- Rollups: sums and active developers from daily_metrics, sessions (spans passing the model
-- filter themselves) from session_models, p95 latency ≈ from latency_histogram (request_latency when only the model filter is set; ±6%).
WITH totals AS (
    SELECT
        coalesce(sum(requests), 0) AS requests,
        coalesce(sum(cost_usd), 0) AS cost_usd,
        coalesce(sum(tokens_in), 0) AS tokens_in,
        coalesce(sum(tokens_out), 0) AS tokens_out,
        coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
        coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
        coalesce(sum(model_calls), 0) AS model_calls,
        coalesce(sum(model_call_errors), 0) AS model_call_errors,
        count(DISTINCT developer_id) AS active_developers,
        coalesce(sum(unpriced_spans), 0) AS unpriced_spans,
        coalesce(sum(spans), 0) AS spans
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
),
latency AS (
    SELECT bucket, sum(spans) OVER (ORDER BY bucket) AS upto, sum(spans) OVER () AS total
    FROM (
        SELECT bucket, sum(spans) AS spans
        FROM filtered_request_latency($start, $end, $developers, $teams, $models, $services, $repos)
        GROUP BY bucket
    )
)
SELECT
    requests, cost_usd, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, model_calls, model_call_errors,
    model_call_errors / nullif(model_calls, 0) AS error_rate,
    active_developers,
    (SELECT count(DISTINCT session_id)
     FROM filtered_session_models($start, $end, $developers, $teams, $models, $services, $repos)
     WHERE len($models) = 0 OR model IS NOT NULL) AS sessions,
    (SELECT latency_quantile(bucket, upto, total, 0.95) FROM latency) AS p95_latency_ms,
    unpriced_spans,
    spans
FROM totals;
