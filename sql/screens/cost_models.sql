-- cost_models: one row per (model, provider) with requests in the shared filter window. Screen: Cost
-- (model comparison). Tokens include cache reads and writes (they are part of the prompt).
-- unpriced_requests: requests of a model the price database does not know; a model with no priced
-- request has NULL cost (unknown), never 0.
WITH per_model AS (
    SELECT
        model,
        provider,
        sum(requests) AS requests,
        sum(tokens_in) + sum(tokens_out) AS tokens,
        CASE WHEN sum(unpriced_spans) < sum(requests) THEN sum(cost_usd) END AS cost_usd,
        sum(cache_read_tokens) / nullif(sum(tokens_in), 0) AS cache_hit_ratio,
        sum(unpriced_spans) AS unpriced_requests
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE model IS NOT NULL
    GROUP BY model, provider
    HAVING sum(requests) > 0
)
SELECT
    model,
    provider,
    requests,
    tokens,
    cost_usd,
    cost_usd / requests AS cost_per_request_usd,
    1000 * cost_usd / nullif(tokens, 0) AS cost_per_1k_tokens_usd,
    cache_hit_ratio,
    cost_usd / nullif(sum(cost_usd) OVER (), 0) AS cost_share,
    unpriced_requests
FROM per_model
ORDER BY cost_usd DESC NULLS LAST, requests DESC;
