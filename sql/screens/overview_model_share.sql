-- Screen: Overview, model share. Grain: one row per model in the filtered window.
-- Rollup: daily_metrics (whole days; edge hours from hourly_metrics).
SELECT
    model,
    sum(requests) AS requests,
    sum(cost_usd) AS cost_usd,
    sum(tokens_in) + sum(tokens_out) AS tokens,
    sum(requests) / nullif(sum(sum(requests)) OVER (), 0) AS request_share,
    sum(cost_usd) / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
