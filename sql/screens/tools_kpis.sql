-- Screen: Tools, KPI row. Grain: one row for the filtered window's tool calls (TOOL spans;
-- the model filter applies to the LLM span that called them).
WITH tool_calls AS (
    SELECT t.*
    FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
    LEFT JOIN spans AS p
        ON p.span_id = t.parent_span_id
       AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
    WHERE t.span_kind = 'TOOL' AND lens_allowed($models, p.model)
)
SELECT
    count(*) AS calls,
    count(DISTINCT tool_name) AS tools,
    count(*) FILTER (WHERE is_error) AS failures,
    failures / nullif(count(*), 0) AS failure_rate,
    count(*) FILTER (WHERE accepted_flag IS NOT NULL) AS edits,
    count(*) FILTER (WHERE accepted_flag) / nullif(edits, 0) AS acceptance_rate,
    count(DISTINCT session_id) AS sessions
FROM tool_calls;
