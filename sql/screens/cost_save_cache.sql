-- cost_save_cache: one row per developer whose cache hit ratio (cache-read tokens / prompt tokens)
-- is below the target: the 75th percentile of developers' ratios in the window. Screen: Cost
-- (optimization suggestions). The extra cached tokens are what brings the developer's own ratio (the
-- one shown) to the target: target * tokens_in - cache reads, so a model above the target offsets one
-- below. They are spread over the developer's below-target models in proportion to each one's own gap
-- (within the prompt tokens it left uncached) and priced at that model's (input - cache read)
-- per-token rates, bound as lists like in cost_save_model_downshift; an unpriced model's share counts
-- as tokens but saves nothing. It is an upper bound (the cache writes needed are not counted).
-- Monthly = the window's saving scaled to 30 days (total_monthly_saving_usd: all developers together).
WITH rates AS (
    SELECT unnest($rate_models) AS model, unnest($rate_providers) AS provider, unnest($rate_input) AS input_rate,
           unnest($rate_cache_read) AS cache_read_rate
),
per_day AS (
    -- per day and dimension set (the grain of daily_metrics); read once for the usage and the days
    SELECT event_date, developer_id, model, provider, sum(tokens_in) AS tokens_in,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(requests) AS requests
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY event_date, developer_id, team, model, provider, service_name, repo_slug, project
),
usage AS (
    -- the day and dimension sets with requests
    SELECT developer_id, model, provider, sum(tokens_in) AS tokens_in, sum(cache_read_tokens) AS cache_read_tokens,
           sum(cache_write_tokens) AS cache_write_tokens
    FROM per_day
    WHERE developer_id IS NOT NULL AND requests > 0
    GROUP BY ALL
),
developers AS (
    SELECT developer_id, sum(tokens_in) AS tokens_in, sum(cache_read_tokens) AS cache_read_tokens,
           sum(cache_read_tokens) / nullif(sum(tokens_in), 0) AS hit_ratio
    FROM usage
    GROUP BY 1
),
target AS (
    SELECT quantile_cont(hit_ratio, 0.75) AS target_ratio FROM developers WHERE hit_ratio IS NOT NULL
),
data_days AS (
    SELECT greatest(date_diff('day', min(event_date), max(event_date)) + 1, 1) AS days
    FROM per_day
),
shortfalls AS (
    -- per model: the cached tokens it lacks to reach the target, within the prompt tokens it left uncached
    SELECT
        u.developer_id, u.model, u.provider,
        least(greatest(t.target_ratio * u.tokens_in - u.cache_read_tokens, 0),
              greatest(u.tokens_in - u.cache_read_tokens - u.cache_write_tokens, 0)) AS shortfall
    FROM usage AS u
    CROSS JOIN target AS t
),
gains AS (
    -- the developer's gap to the target, shared out over their models' shortfalls
    SELECT
        s.developer_id,
        s.shortfall * least(greatest(t.target_ratio * d.tokens_in - d.cache_read_tokens, 0)
                            / nullif(sum(s.shortfall) OVER (PARTITION BY s.developer_id), 0), 1) AS extra_cached_tokens,
        r.input_rate - r.cache_read_rate AS saving_per_token
    FROM shortfalls AS s
    JOIN developers AS d USING (developer_id)
    CROSS JOIN target AS t
    LEFT JOIN rates AS r ON r.model = s.model AND r.provider IS NOT DISTINCT FROM s.provider
)
SELECT
    d.developer_id,
    d.hit_ratio,
    t.target_ratio,
    sum(g.extra_cached_tokens) AS extra_cached_tokens,
    sum(g.extra_cached_tokens * g.saving_per_token) AS saving_usd,
    sum(g.extra_cached_tokens * g.saving_per_token) * 30 / any_value(days) AS monthly_saving_usd,
    sum(sum(g.extra_cached_tokens * g.saving_per_token)) OVER () * 30 / any_value(days) AS total_monthly_saving_usd
FROM developers AS d
CROSS JOIN target AS t
CROSS JOIN data_days
JOIN gains AS g USING (developer_id)
WHERE d.hit_ratio < t.target_ratio
GROUP BY d.developer_id, d.hit_ratio, t.target_ratio
HAVING sum(g.extra_cached_tokens * g.saving_per_token) > 0
ORDER BY monthly_saving_usd DESC;
