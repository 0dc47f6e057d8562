-- Screen: Overview, model share. Grain: one row per model in the filtered window.
-- Rollup: daily_metrics (whole days; edge hours from hourly_metrics). A model with no priced span
-- (an unknown model) has NULL cost and cost share, never 0.
SELECT
    model,
    sum(requests) AS requests,
    CASE WHEN sum(priced_spans) > 0 THEN sum(cost_usd) END AS cost_usd,
    sum(tokens_in) + sum(tokens_out) AS tokens,
    sum(requests) / nullif(sum(sum(requests)) OVER (), 0) AS request_share,
    CASE WHEN sum(priced_spans) > 0 THEN sum(cost_usd) END / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
