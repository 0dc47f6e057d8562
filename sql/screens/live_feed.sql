-- live_feed: the newest $limit spans started at or before $until (now, or the newest span when the
-- lake is quiet), newest first, from the day before it. Screen: Live (feed).
SELECT
    start_time, developer_id, session_id, span_kind,
    CASE WHEN span_kind = 'TOOL' THEN coalesce(tool_name, name) ELSE name END AS span,
    model, status, latency_ms, tokens_in, tokens_out, cost_usd, error_message, span_id
FROM filtered_spans(CAST($until AS TIMESTAMP) - INTERVAL 1 DAY, CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND,
                    $developers, $teams, $models, $services, $repos)
ORDER BY start_time DESC, span_id DESC
LIMIT $limit;
