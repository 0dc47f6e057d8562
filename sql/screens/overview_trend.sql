-- Screen: Overview, cost and request trends. Grain: one row per (time bucket, model);
-- $bucket is 'hour' or 'day'. Spans without a model (tool calls) count only toward cost.
SELECT
    date_trunc($bucket, start_time) AS bucket,
    coalesce(model, '(none)') AS model,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) AS tokens
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL OR cost_usd IS NOT NULL
GROUP BY ALL
ORDER BY bucket, model;
