-- Derived rollup: one row per session (grain: session_id), the whole session's totals added up from
-- its rows of the per-day rollup `session_days` (one row per session, model and day). Kept in ten-day
-- files by the period of the session's first day (lens_etl/session_totals.py): an ingest rewrites only
-- the sessions it touched, so a screen or an analyst reads a session's totals without adding up days.
SELECT
    session_id,
    arg_min(developer_id, started_at) FILTER (WHERE developer_id IS NOT NULL) AS developer_id,
    arg_min(team, started_at) FILTER (WHERE team IS NOT NULL) AS team,
    arg_min(repo_slug, started_at) FILTER (WHERE repo_slug IS NOT NULL) AS repo_slug,
    any_value(project) AS project,
    min(started_at) AS started_at,
    max(ended_at) AS ended_at,
    epoch_ms(max(ended_at) - min(started_at)) / 1000.0 AS duration_s,
    sum(spans) AS spans,
    len(list_distinct(flatten(list(trace_ids)))) AS traces,
    sum(requests) AS requests,
    sum(tool_calls) AS tool_calls,
    sum(errors) AS errors,
    sum(tokens_in) AS tokens_in,
    sum(tokens_out) AS tokens_out,
    sum(cache_read_tokens) AS cache_read_tokens,
    sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_usd) AS cost_usd,
    sum(unpriced_spans) AS unpriced_spans,
    arg_max(model, requests) FILTER (WHERE model IS NOT NULL AND requests > 0) AS main_model,
    list_sort(list_distinct(list(model) FILTER (WHERE model IS NOT NULL))) AS models,
    sum(edits) AS edits,
    sum(accepted_edits) AS accepted_edits,
    sum(accepted_lines) AS accepted_lines,
    -- the days of its partitions (by span start): a session's spans are read from these alone
    min(event_date) AS first_day,
    max(event_date) AS last_day,
    sum(sub_agents) AS sub_agents
FROM session_days
GROUP BY session_id
