-- Rollup: one row per (session, model) of one day's rows of the `spans` view; the
-- `sessions` view adds the days up. Rebuilt for every partition an ingest touches.
SELECT
    session_id,
    model,
    any_value(developer_id ORDER BY start_time) FILTER (WHERE developer_id IS NOT NULL) AS developer_id,
    any_value(team ORDER BY start_time) FILTER (WHERE team IS NOT NULL) AS team,
    any_value(repo_slug ORDER BY start_time) FILTER (WHERE repo_slug IS NOT NULL) AS repo_slug,
    any_value(project) AS project,
    min(start_time) AS started_at,
    max(coalesce(end_time, start_time)) AS ended_at,
    count(*) AS spans,
    list_distinct(list(trace_id)) AS trace_ids,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE span_kind = 'TOOL') AS tool_calls,
    count(*) FILTER (WHERE is_error) AS errors,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    count(*) FILTER (WHERE price_status = 'unknown_model') AS unpriced_spans,
    count(*) FILTER (WHERE accepted_flag IS NOT NULL) AS edits,
    count(*) FILTER (WHERE accepted_flag) AS accepted_edits,
    sum(accepted_lines) AS accepted_lines,
    count(*) FILTER (WHERE span_kind = 'TOOL' AND tool_name = 'Task') AS sub_agents
FROM spans
GROUP BY session_id, model
