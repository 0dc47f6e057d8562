-- Screen: Models, per-model table. Grain: one row per model in the filtered window.
-- Latency quantiles and tokens per request over requests (is_request); error rate over model
-- calls (LLM spans, not LiteLLM's raw copies); cost per 1k tokens = cost / (tokens in + out) * 1000;
-- cache hit ratio = cache read tokens / tokens in (the prompt count includes cache reads).
SELECT
    model,
    any_value(provider) AS provider,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE name IS DISTINCT FROM 'raw_gen_ai_request' AND span_kind = 'LLM') AS calls,
    count(*) FILTER (WHERE name IS DISTINCT FROM 'raw_gen_ai_request' AND span_kind = 'LLM' AND is_error) AS errors,
    errors / nullif(calls, 0) AS error_rate,
    quantile_cont(latency_ms, 0.05) FILTER (WHERE is_request) AS p05_ms,
    quantile_cont(latency_ms, 0.25) FILTER (WHERE is_request) AS p25_ms,
    quantile_cont(latency_ms, 0.50) FILTER (WHERE is_request) AS p50_ms,
    quantile_cont(latency_ms, 0.75) FILTER (WHERE is_request) AS p75_ms,
    quantile_cont(latency_ms, 0.95) FILTER (WHERE is_request) AS p95_ms,
    quantile_cont(latency_ms, 0.99) FILTER (WHERE is_request) AS p99_ms,
    avg(tokens_in) FILTER (WHERE is_request) AS avg_tokens_in,
    avg(tokens_out) FILTER (WHERE is_request) AS avg_tokens_out,
    quantile_cont(tokens_in, 0.95) FILTER (WHERE is_request) AS p95_tokens_in,
    quantile_cont(tokens_out, 0.95) FILTER (WHERE is_request) AS p95_tokens_out,
    coalesce(sum(tokens_in), 0) AS tokens_in,
    coalesce(sum(tokens_out), 0) AS tokens_out,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    sum(cost_usd) / nullif(requests, 0) AS cost_per_request,
    sum(cost_usd) / nullif(sum(tokens_in) + sum(tokens_out), 0) * 1000 AS cost_per_1k_tokens,
    sum(cache_read_tokens) / nullif(sum(tokens_in), 0) AS cache_hit_ratio,
    count(*) FILTER (WHERE price_status = 'unknown_model') > 0 AS unpriced
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
