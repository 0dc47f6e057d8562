-- Screen: Developers, one developer's tool-use heatmap. Grain: one row per (tool, UTC hour of day)
-- for $developer; tool calls follow the model filter through the LLM span that called them.
SELECT
    coalesce(t.tool_name, '(unnamed)') AS tool,
    hour(t.start_time) AS hour_utc,
    count(*) AS calls,
    count(*) FILTER (WHERE t.is_error) AS failures
FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
LEFT JOIN spans AS p
    ON p.span_id = t.parent_span_id
   AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
WHERE t.span_kind = 'TOOL'
  AND coalesce(t.developer_id, '(unknown)') = $developer
  AND lens_allowed($models, p.model)
GROUP BY ALL
ORDER BY tool, hour_utc;
