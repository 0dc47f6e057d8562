-- Screen: Overview, top developers. Grain: one row per developer, the $limit costliest.
SELECT
    coalesce(developer_id, '(unknown)') AS developer,
    coalesce(any_value(team), '(no team)') AS team,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    count(DISTINCT session_id) AS sessions
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
GROUP BY developer_id
ORDER BY cost_usd DESC, requests DESC, developer
LIMIT $limit;
