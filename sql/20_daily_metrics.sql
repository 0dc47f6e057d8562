-- hourly_metrics: the per-day rollup (sql/rollups/hourly_metrics.sql), one row per hour and
-- dimension set; daily_metrics: the same measures per day. Additive measures only, so any
-- roll-up of these views equals the same sum over `spans` (tests/test_rollups.py proves it).
CREATE OR REPLACE VIEW hourly_metrics AS
SELECT * FROM {{hourly_metrics}}
WHERE lens_in_scope(developer_id, team);

CREATE OR REPLACE VIEW daily_metrics AS
SELECT
    event_date,
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
    sum(tool_calls) AS tool_calls,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    sum(unpriced_spans) AS unpriced_spans,
    sum(edits) AS edits,
    sum(accepted_edits) AS accepted_edits,
    sum(accepted_lines) AS accepted_lines,
    sum(request_latency_ms_sum) AS request_latency_ms_sum
FROM hourly_metrics
GROUP BY ALL;
