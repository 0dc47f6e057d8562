-- Rollup: hourly_metrics (the same day's, computed just before it) per day, without the hour and
-- the tool: about 13x fewer rows for the screens that need neither. `day` repeats event_date so the
-- query also runs over a lake-wide hourly_metrics (Spark, docs/distributed.md). Additive measures only.
SELECT
    CAST(hour AS DATE) AS day,
    developer_id,
    team,
    model,
    provider,
    service_name,
    repo_slug,
    project,
    sum(spans) AS spans,
    sum(requests) AS requests,
    sum(errors) AS errors,
    sum(request_errors) AS request_errors,
    sum(model_calls) AS model_calls,
    sum(model_call_errors) AS model_call_errors,
    sum(tool_calls) AS tool_calls,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    sum(priced_spans) AS priced_spans,
    sum(priced_requests) AS priced_requests,
    sum(unpriced_spans) AS unpriced_spans,
    sum(edits) AS edits,
    sum(accepted_edits) AS accepted_edits,
    sum(accepted_lines) AS accepted_lines,
    sum(request_latency_ms_sum) AS request_latency_ms_sum,
    sum(request_tokens_in) AS request_tokens_in,
    sum(request_tokens_out) AS request_tokens_out
FROM hourly_metrics
GROUP BY ALL
