-- cost_by_team: one row per team in the shared filter window. Screen: Cost.
SELECT
    coalesce(team, '(no team)') AS team,
    sum(cost_usd) AS cost_usd,
    sum(requests) AS requests,
    count(DISTINCT developer_id) AS developers,
    sum(cost_usd) / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
GROUP BY 1
ORDER BY cost_usd DESC;
