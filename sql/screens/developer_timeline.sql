-- Screen: Developers, one developer's usage timeline. Grain: one row per (time bucket, model)
-- for $developer; $bucket is 'hour' or 'day'. Rollup: hourly_metrics.
SELECT
    date_trunc($bucket, hour) AS bucket,
    coalesce(model, '(none)') AS model,
    sum(requests) AS requests,
    sum(cost_usd) AS cost_usd,
    sum(tokens_in) + sum(tokens_out) AS tokens
FROM filtered_hourly($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND (model IS NOT NULL OR priced_spans > 0)
GROUP BY ALL
ORDER BY bucket, model;
