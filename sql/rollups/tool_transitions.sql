-- Rollup: tool chains, one row per (developer, team, service, repo, from caller model, to caller
-- model, from tool, to tool, crosses_midnight) of one day: how often a TOOL span is followed by
-- another in the same session (ordered by start_time, span_id). A transition belongs to the day of
-- its second span; its first span may be on the previous day (crosses_midnight), so a window that
-- starts at midnight drops those, as the raw query did. Dimensions are the first span's.
-- Approximations: a session's previous tool call is looked for only in this day and the previous
-- one; under a model filter, pairs whose two caller models pass are counted (the raw query chained
-- only the calls that pass, so it also joined calls around a filtered-out one).
-- Rebuilt for every partition an ingest touches and the day after it.
WITH callers AS (SELECT span_id, model FROM spans WHERE model IS NOT NULL),
tools AS (
    SELECT t.session_id, t.span_id, t.start_time, t.event_date, t.developer_id, t.team, t.service_name,
           t.repo_slug, t.tool_name, p.model AS caller_model
    FROM spans AS t
    LEFT JOIN callers AS p ON p.span_id = t.parent_span_id
    WHERE t.span_kind = 'TOOL'
),
steps AS (
    SELECT
        *,
        lead(tool_name) OVER w AS to_tool,
        lead(caller_model) OVER w AS to_caller_model,
        lead(event_date) OVER w AS to_date,
        lead(span_id) OVER w AS to_span_id
    FROM tools
    WINDOW w AS (PARTITION BY session_id ORDER BY start_time, span_id)
)
SELECT
    developer_id,
    team,
    service_name,
    repo_slug,
    caller_model AS from_caller_model,
    to_caller_model,
    tool_name AS from_tool,
    to_tool,
    event_date < to_date AS crosses_midnight,
    count(*) AS transitions
FROM steps
WHERE to_span_id IS NOT NULL AND to_date = (SELECT max(event_date) FROM spans)
GROUP BY ALL
