-- Rollup: one row per (hour, developer, team, model, provider, service, repo, project, tool)
-- of one day's rows of the `spans` view (model_calls: requests, and failed LLM calls that are not
-- LiteLLM's raw copies, which carry no usage: not Claude Code's synthesized prompt and output spans;
-- request_tokens_*: tokens of requests only; priced_*: spans whose cost is known). Additive measures only, so any sum over it
-- equals the same sum over `spans`. Rebuilt for every partition an ingest touches.
SELECT
    date_trunc('hour', start_time) AS hour,
    developer_id,
    team,
    model,
    provider,
    service_name,
    repo_slug,
    project,
    CASE WHEN span_kind = 'TOOL' THEN tool_name END AS tool_name,
    count(*) AS spans,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE is_error) AS errors,
    count(*) FILTER (WHERE is_request AND is_error) AS request_errors,
    count(*) FILTER (WHERE is_request OR (span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request' AND is_error)) AS model_calls,
    count(*) FILTER (WHERE span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request' AND is_error) AS model_call_errors,
    count(*) FILTER (WHERE span_kind = 'TOOL') AS tool_calls,
    coalesce(sum(tokens_in), 0) AS tokens_in,
    coalesce(sum(tokens_out), 0) AS tokens_out,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    count(cost_usd) AS priced_spans,
    count(cost_usd) FILTER (WHERE is_request) AS priced_requests,
    count(*) FILTER (WHERE price_status = 'unknown_model') AS unpriced_spans,
    count(*) FILTER (WHERE accepted_flag IS NOT NULL) AS edits,
    count(*) FILTER (WHERE accepted_flag) AS accepted_edits,
    coalesce(sum(accepted_lines), 0) AS accepted_lines,
    coalesce(sum(latency_ms) FILTER (WHERE is_request), 0) AS request_latency_ms_sum,
    coalesce(sum(tokens_in) FILTER (WHERE is_request), 0) AS request_tokens_in,
    coalesce(sum(tokens_out) FILTER (WHERE is_request), 0) AS request_tokens_out
FROM spans
GROUP BY ALL
