-- Screen: Models, per-model table. Grain: one row per model in the filtered window.
-- Tokens per request over requests (is_request); error rate over model calls (requests, and failed
-- LLM calls but LiteLLM's raw copies: not Claude Code's synthesized prompt and output spans); cost per 1k tokens = cost / (tokens in + out) * 1000;
-- cache hit ratio = cache read tokens / tokens in (the prompt count includes cache reads).
-- Rollups: daily_metrics (whole days; edge hours from hourly_metrics); latency quantiles ≈ from
-- latency_histogram, or request_latency when only the model filter is set (the middle of the bucket
-- holding the quantile, within ±6%). cost_usd is NULL for a model none of whose spans has a price.
WITH latency AS (
    SELECT
        model,
        bucket,
        sum(sum(spans)) OVER (PARTITION BY model ORDER BY bucket) AS upto,
        sum(sum(spans)) OVER (PARTITION BY model) AS total
    FROM filtered_request_latency($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE model IS NOT NULL
    GROUP BY model, bucket
),
quantiles AS (
    -- the six quantiles as rows of one expression, then side by side: planned once, not six times
    SELECT
        model,
        any_value(ms) FILTER (WHERE q = 0.05) AS p05_ms,
        any_value(ms) FILTER (WHERE q = 0.25) AS p25_ms,
        any_value(ms) FILTER (WHERE q = 0.50) AS p50_ms,
        any_value(ms) FILTER (WHERE q = 0.75) AS p75_ms,
        any_value(ms) FILTER (WHERE q = 0.95) AS p95_ms,
        any_value(ms) FILTER (WHERE q = 0.99) AS p99_ms
    FROM (
        SELECT model, q, latency_quantile(bucket, upto, total, q) AS ms
        FROM latency, (VALUES (0.05), (0.25), (0.50), (0.75), (0.95), (0.99)) AS levels(q)
        GROUP BY model, q
    )
    GROUP BY model
),
usage AS (
    SELECT
        model,
        any_value(provider) AS provider,
        sum(requests) AS requests,
        sum(model_calls) AS calls,
        sum(model_call_errors) AS errors,
        sum(model_call_errors) / nullif(sum(model_calls), 0) AS error_rate,
        sum(request_tokens_in) / nullif(sum(requests), 0) AS avg_tokens_in,
        sum(request_tokens_out) / nullif(sum(requests), 0) AS avg_tokens_out,
        sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out,
        sum(cache_read_tokens) AS cache_read_tokens,
        sum(cache_write_tokens) AS cache_write_tokens,
        CASE WHEN sum(priced_spans) > 0 THEN sum(cost_usd) END AS cost_usd,
        sum(unpriced_spans) > 0 AS unpriced
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE model IS NOT NULL
    GROUP BY model
)
SELECT
    u.model, u.provider, u.requests, u.calls, u.errors, u.error_rate,
    q.p05_ms, q.p25_ms, q.p50_ms, q.p75_ms, q.p95_ms, q.p99_ms,
    u.avg_tokens_in, u.avg_tokens_out, u.tokens_in, u.tokens_out, u.cache_read_tokens, u.cache_write_tokens,
    u.cost_usd,
    u.cost_usd / nullif(u.requests, 0) AS cost_per_request,
    u.cost_usd / nullif(u.tokens_in + u.tokens_out, 0) * 1000 AS cost_per_1k_tokens,
    u.cache_read_tokens / nullif(u.tokens_in, 0) AS cache_hit_ratio,
    u.unpriced
FROM usage AS u
LEFT JOIN quantiles AS q USING (model)
ORDER BY u.requests DESC, u.model;
