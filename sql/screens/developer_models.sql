-- Screen: Developers, one developer's model preference. Grain: one row per model for $developer.
SELECT
    model,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    count(*) FILTER (WHERE is_request) / nullif(sum(count(*) FILTER (WHERE is_request)) OVER (), 0) AS request_share
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
