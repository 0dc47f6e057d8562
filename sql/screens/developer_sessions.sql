-- Screen: Developers, one developer's sessions. Grain: one row per session of $developer
-- (only spans inside the filtered window count), newest first. A tool call counts under the
-- model filter through the LLM span that called it.
SELECT
    s.session_id,
    min(s.start_time) AS started_at,
    epoch_ms(max(coalesce(s.end_time, s.start_time)) - min(s.start_time)) / 60000.0 AS duration_min,
    any_value(s.repo_slug) FILTER (WHERE s.repo_slug IS NOT NULL) AS repo,
    count(*) FILTER (WHERE s.is_request) AS requests,
    count(*) FILTER (WHERE s.span_kind = 'TOOL') AS tool_calls,
    count(*) FILTER (WHERE s.is_error) AS errors,
    coalesce(sum(s.cost_usd), 0) AS cost_usd,
    mode(s.model) FILTER (WHERE s.is_request) AS main_model
FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS s
LEFT JOIN spans AS p
    ON p.span_id = s.parent_span_id
   AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
WHERE coalesce(s.developer_id, '(unknown)') = $developer
  AND lens_allowed($models, coalesce(s.model, p.model))
GROUP BY s.session_id
ORDER BY started_at DESC
LIMIT 500;
