-- sessions: one row per session_id (a Claude Code session; else the trace, see README).
CREATE OR REPLACE VIEW sessions AS
SELECT
    session_id,
    any_value(developer_id ORDER BY start_time) FILTER (WHERE developer_id IS NOT NULL) AS developer_id,
    any_value(team ORDER BY start_time) FILTER (WHERE team IS NOT NULL) AS team,
    any_value(repo_slug ORDER BY start_time) FILTER (WHERE repo_slug IS NOT NULL) AS repo_slug,
    any_value(project) AS project,
    min(start_time) AS started_at,
    max(coalesce(end_time, start_time)) AS ended_at,
    epoch_ms(max(coalesce(end_time, start_time)) - min(start_time)) / 1000.0 AS duration_s,
    count(*) AS spans,
    count(DISTINCT trace_id) AS traces,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE span_kind = 'TOOL') AS tool_calls,
    count(*) FILTER (WHERE is_error) AS errors,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    count(*) FILTER (WHERE price_status = 'unknown_model') AS unpriced_spans,
    mode(model) FILTER (WHERE is_request) AS main_model,
    list_distinct(list(model) FILTER (WHERE model IS NOT NULL)) AS models,
    count(*) FILTER (WHERE accepted_flag IS NOT NULL) AS edits,
    count(*) FILTER (WHERE accepted_flag) AS accepted_edits,
    sum(accepted_lines) AS accepted_lines
FROM spans
GROUP BY session_id;
