-- session_summary: one row for session $session_id (all its spans, no shared filters). Screen: Sessions.
-- Rollup: session_days (through `sessions`); sub_agents counts its Task tool calls. first_day and
-- last_day are the days its spans are in: the page passes them to the other session_* queries.
SELECT *
FROM sessions
WHERE session_id = $session_id;
