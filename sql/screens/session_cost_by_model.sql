-- session_cost_by_model: one row per model used in session $session_id. Screen: Sessions (cost breakdown).
-- Reads only the session's partitions: $first_day..$last_day (session_summary's first_day, last_day).
SELECT
    coalesce(model, '(unknown)') AS model,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(tokens_in), 0) AS tokens_in,
    coalesce(sum(tokens_out), 0) AS tokens_out,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    sum(cost_usd) AS cost_usd,
    sum(cost_usd) / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM spans
WHERE session_id = $session_id AND (model IS NOT NULL OR cost_usd IS NOT NULL)
  AND event_date BETWEEN CAST($first_day AS DATE) AND CAST($last_day AS DATE)
GROUP BY 1
ORDER BY cost_usd DESC NULLS LAST;
