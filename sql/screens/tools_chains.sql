-- Screen: Tools, tool chains. Grain: one row per (tool, next tool) among the $top most used tools:
-- consecutive TOOL spans of one session ordered by start_time. share = transitions / all
-- transitions out of the same tool (counting those to tools outside the top).
WITH tool_calls AS (
    SELECT t.session_id, t.start_time, t.span_id, coalesce(t.tool_name, '(unnamed)') AS tool
    FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
    LEFT JOIN spans AS p
        ON p.span_id = t.parent_span_id
       AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
    WHERE t.span_kind = 'TOOL' AND lens_allowed($models, p.model)
),
steps AS (
    SELECT tool, lead(tool) OVER (PARTITION BY session_id ORDER BY start_time, span_id) AS next_tool
    FROM tool_calls
),
pairs AS (
    SELECT tool, next_tool, count(*) AS transitions
    FROM steps
    WHERE next_tool IS NOT NULL
    GROUP BY ALL
),
top_tools AS (
    SELECT tool FROM tool_calls GROUP BY tool ORDER BY count(*) DESC, tool LIMIT $top
)
SELECT
    tool,
    next_tool,
    transitions,
    transitions / sum(transitions) OVER (PARTITION BY tool) AS share
FROM pairs
QUALIFY tool IN (SELECT tool FROM top_tools) AND next_tool IN (SELECT tool FROM top_tools)
ORDER BY tool, transitions DESC, next_tool;
