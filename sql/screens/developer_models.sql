-- Screen: Developers, one developer's model preference. Grain: one row per model for $developer.
-- Rollup: daily_metrics (whole days; edge hours from hourly_metrics). A model with no priced span
-- (an unknown model) has NULL cost, never 0.
SELECT
    model,
    sum(requests) AS requests,
    CASE WHEN sum(priced_spans) > 0 THEN sum(cost_usd) END AS cost_usd,
    sum(requests) / nullif(sum(sum(requests)) OVER (), 0) AS request_share
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
