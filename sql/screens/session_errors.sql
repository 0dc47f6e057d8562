-- session_errors: one row per error span of session $session_id, oldest first. Screen: Sessions (error panel).
SELECT start_time, name, span_kind, coalesce(tool_name, model) AS tool_or_model, error_message, span_id
FROM spans
WHERE session_id = $session_id AND is_error
ORDER BY start_time, span_id;
