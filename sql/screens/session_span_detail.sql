-- session_span_detail: one span ($span_id of session $session_id) with its bounded, redacted
-- request/response previews. Screen: Sessions (request/response viewer).
-- Reads only the session's partitions: $first_day..$last_day (session_summary's first_day, last_day).
SELECT span_id, name, span_kind, tool_name, model, status, error_message, start_time, latency_ms,
       tokens_in, tokens_out, cost_usd, input_preview, output_preview
FROM spans
WHERE session_id = $session_id AND span_id = $span_id
  AND event_date BETWEEN CAST($first_day AS DATE) AND CAST($last_day AS DATE);
