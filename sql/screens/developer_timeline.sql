-- Screen: Developers, one developer's usage timeline. Grain: one row per (time bucket, model)
-- for $developer; $bucket is 'hour' or 'day'. Rollup: daily_metrics by the day, hourly_metrics by the hour
-- (filtered_trend).
SELECT
    bucket,
    coalesce(model, '(none)') AS model,
    sum(requests) AS requests,
    sum(cost_usd) AS cost_usd,
    sum(tokens_in) + sum(tokens_out) AS tokens
FROM filtered_trend($bucket, $start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND (model IS NOT NULL OR priced_spans > 0)
GROUP BY ALL
ORDER BY bucket, model;
