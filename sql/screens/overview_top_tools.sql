-- Screen: Overview, top tools. Grain: one row per tool, the $limit most called.
-- Tool calls (TOOL spans) carry no model: the model filter applies to the LLM span that called them.
WITH tool_calls AS (
    SELECT t.tool_name, t.is_error, p.model AS caller_model
    FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
    LEFT JOIN spans AS p
        ON p.span_id = t.parent_span_id
       AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
    WHERE t.span_kind = 'TOOL'
)
SELECT
    coalesce(tool_name, '(unnamed)') AS tool,
    count(*) AS calls,
    count(*) FILTER (WHERE is_error) AS failures,
    failures / count(*) AS failure_rate
FROM tool_calls
WHERE lens_allowed($models, caller_model)
GROUP BY tool_name
ORDER BY calls DESC, tool
LIMIT $limit;
