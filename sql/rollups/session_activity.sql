-- Rollup: one row per (session, developer, team, service, repo, model, caller model, tool) of one
-- day's spans: which sessions had activity under which filter values, for exact distinct-session
-- counts and per-session lists. caller_model (spans without a model: the model of their parent,
-- looked up in this day's and the previous day's spans) lets tool calls follow the model filter;
-- tool_name is set on TOOL spans only. Rebuilt for every partition an ingest touches and the day after it.
WITH callers AS (SELECT span_id, model FROM spans WHERE model IS NOT NULL),
day AS (
    SELECT * FROM spans WHERE event_date = (SELECT max(event_date) FROM spans)
)
SELECT
    s.session_id,
    s.developer_id,
    s.team,
    s.service_name,
    s.repo_slug,
    s.model,
    CASE WHEN s.model IS NULL THEN p.model END AS caller_model,
    CASE WHEN s.span_kind = 'TOOL' THEN s.tool_name END AS tool_name,
    count(*) AS spans,
    count(*) FILTER (WHERE s.is_request) AS requests,
    count(*) FILTER (WHERE s.span_kind = 'TOOL') AS tool_calls,
    count(*) FILTER (WHERE s.is_error) AS errors,
    coalesce(sum(s.cost_usd), 0) AS cost_usd,
    min(s.start_time) AS started_at,
    max(coalesce(s.end_time, s.start_time)) AS ended_at,
    max(s.start_time) AS last_start
FROM day AS s
LEFT JOIN callers AS p ON p.span_id = s.parent_span_id
GROUP BY ALL
