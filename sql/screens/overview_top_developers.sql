-- Screen: Overview, top developers. Grain: one row per developer, the $limit costliest.
-- Rollups: daily_metrics (whole days; edge hours from hourly_metrics); sessions from session_models (spans passing the model filter themselves).
WITH usage AS (
    SELECT developer_id, any_value(team) AS team, sum(requests) AS requests, sum(cost_usd) AS cost_usd
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY developer_id
),
sessions AS (
    SELECT developer_id, count(DISTINCT session_id) AS sessions
    FROM filtered_session_models($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE len($models) = 0 OR model IS NOT NULL
    GROUP BY developer_id
)
SELECT
    coalesce(u.developer_id, '(unknown)') AS developer,
    coalesce(u.team, '(no team)') AS team,
    u.requests,
    u.cost_usd,
    coalesce(s.sessions, 0) AS sessions
FROM usage AS u
LEFT JOIN sessions AS s ON s.developer_id IS NOT DISTINCT FROM u.developer_id
ORDER BY cost_usd DESC, requests DESC, developer
LIMIT $limit;
