-- Rollup: session_activity (the same day's, computed just before it) without the tool: one row per
-- (session, developer, team, service, repo, model, caller model) of one day, about a third of its
-- rows, for the screens that count or add up sessions but not per tool. Recomputed with it (the day
-- after every partition an ingest touches too).
SELECT
    session_id,
    developer_id,
    team,
    service_name,
    repo_slug,
    model,
    caller_model,
    sum(spans) AS spans,
    sum(requests) AS requests,
    sum(tool_calls) AS tool_calls,
    sum(errors) AS errors,
    sum(cost_usd) AS cost_usd,
    min(started_at) AS started_at,
    max(ended_at) AS ended_at,
    max(last_start) AS last_start
FROM session_activity
GROUP BY session_id, developer_id, team, service_name, repo_slug, model, caller_model
