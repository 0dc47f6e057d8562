-- session_errors: one row per error span of session $session_id, oldest first. Screen: Sessions (error panel).
-- Reads only the session's partitions: $first_day..$last_day (session_summary's first_day, last_day).
SELECT start_time, name, span_kind, coalesce(tool_name, model) AS tool_or_model, error_message, span_id
FROM spans
WHERE session_id = $session_id AND is_error
  AND event_date BETWEEN CAST($first_day AS DATE) AND CAST($last_day AS DATE)
ORDER BY start_time, span_id;
