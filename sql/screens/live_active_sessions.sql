-- live_active_sessions: one row per session with a span started in the $minutes minutes up to $until
-- (now, or the newest span when the lake is quiet). Screen: Live (active sessions).
-- Counts and cost are for that window only.
SELECT
    session_id,
    any_value(developer_id) AS developer_id,
    any_value(team) AS team,
    max(coalesce(end_time, start_time)) AS last_activity,
    arg_max(CASE WHEN span_kind = 'TOOL' THEN coalesce(tool_name, name) ELSE name END, start_time) AS last_span,
    arg_max(model, start_time) FILTER (WHERE model IS NOT NULL) AS model,
    count(*) AS spans,
    count(*) FILTER (WHERE is_request) AS requests,
    count(*) FILTER (WHERE is_error) AS errors,
    sum(cost_usd) AS cost_usd
FROM filtered_spans(CAST($until AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT)),
                    CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND, $developers, $teams, $models, $services, $repos)
GROUP BY session_id
ORDER BY last_activity DESC;
