-- session_errors: one row per error span of session $session_id, oldest first. Screen: Sessions (error panel).
-- Reads only the session's partitions: its days are those of its `session_days` rows.
SELECT start_time, name, span_kind, coalesce(tool_name, model) AS tool_or_model, error_message, span_id
FROM spans
WHERE session_id = $session_id AND is_error
  AND event_date BETWEEN (SELECT min(event_date) FROM session_days WHERE session_id = $session_id)
  AND (SELECT max(event_date) FROM session_days WHERE session_id = $session_id)
ORDER BY start_time, span_id;
