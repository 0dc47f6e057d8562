-- session_summary: one row for session $session_id (all its spans, no shared filters). Screen: Sessions.
-- Reads only the session's partitions: its days are those of its `session_days` rows.
SELECT
    s.*,
    (SELECT count(*) FROM spans WHERE session_id = $session_id AND span_kind = 'TOOL' AND tool_name = 'Task'
        AND event_date BETWEEN (SELECT min(event_date) FROM session_days WHERE session_id = $session_id)
            AND (SELECT max(event_date) FROM session_days WHERE session_id = $session_id)) AS sub_agents
FROM sessions AS s
WHERE s.session_id = $session_id;
