-- Screen: Overview, model share. Grain: one row per model in the filtered window.
SELECT
    model,
    count(*) FILTER (WHERE is_request) AS requests,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) AS tokens,
    count(*) FILTER (WHERE is_request) / nullif(sum(count(*) FILTER (WHERE is_request)) OVER (), 0) AS request_share,
    coalesce(sum(cost_usd), 0) / nullif(sum(sum(cost_usd)) OVER (), 0) AS cost_share
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL
GROUP BY model
ORDER BY requests DESC, model;
