-- Screen: Overview, KPI row. Grain: one row for the filtered window
-- (the page runs it again over the previous window of the same length for the deltas).
-- requests = is_request spans; cost and tokens sum every span (as daily_metrics does);
-- error rate = share of model calls (LLM spans, not LiteLLM's raw copies) that ended in ERROR.
SELECT
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    coalesce(sum(tokens_in), 0) AS tokens_in,
    coalesce(sum(tokens_out), 0) AS tokens_out,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
    count(*) FILTER (WHERE span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request') AS model_calls,
    count(*) FILTER (WHERE span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request' AND is_error) AS model_call_errors,
    model_call_errors / nullif(model_calls, 0) AS error_rate,
    count(DISTINCT developer_id) AS active_developers,
    count(DISTINCT session_id) AS sessions,
    quantile_cont(latency_ms, 0.95) FILTER (WHERE is_request) AS p95_latency_ms,
    count(*) FILTER (WHERE price_status = 'unknown_model') AS unpriced_spans,
    count(*) AS spans
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos);
