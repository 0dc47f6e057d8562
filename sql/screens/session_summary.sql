-- session_summary: one row for session $session_id (all its spans, no shared filters). Screen: Sessions.
SELECT
    s.*,
    (SELECT count(*) FROM spans WHERE session_id = $session_id AND span_kind = 'TOOL' AND tool_name = 'Task') AS sub_agents
FROM sessions AS s
WHERE s.session_id = $session_id;
