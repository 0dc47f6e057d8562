-- Screen: Developers, one developer's usage timeline. Grain: one row per (time bucket, model)
-- for $developer; $bucket is 'hour' or 'day'.
SELECT
    date_trunc($bucket, start_time) AS bucket,
    coalesce(model, '(none)') AS model,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) AS tokens
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND (model IS NOT NULL OR cost_usd IS NOT NULL)
GROUP BY ALL
ORDER BY bucket, model;
