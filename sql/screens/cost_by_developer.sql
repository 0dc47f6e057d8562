-- cost_by_developer: one row per developer in the shared filter window. Screen: Cost.
SELECT
    coalesce(developer_id, '(unknown)') AS developer_id,
    coalesce(any_value(team), '(no team)') AS team,
    sum(cost_usd) AS cost_usd,
    sum(requests) AS requests,
    sum(cost_usd) / nullif(sum(requests), 0) AS cost_per_request_usd,
    sum(cost_usd) / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
GROUP BY 1
ORDER BY cost_usd DESC;
