-- cost_save_cache: one row per developer whose cache hit ratio (cache-read tokens / prompt tokens)
-- is below the target: the 75th percentile of developers' ratios in the window. Screen: Cost
-- (optimization suggestions). The saving prices the extra cached tokens at (input - cache read)
-- per-token rates of each model, bound as lists like in cost_save_model_downshift; it is an upper
-- bound (the cache writes needed are not counted). Monthly = the window's saving scaled to 30 days
-- (total_monthly_saving_usd: all developers together).
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
    SELECT developer_id, sum(cache_read_tokens) / nullif(sum(tokens_in), 0) AS hit_ratio
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
gains AS (
    SELECT
        u.developer_id,
        least(greatest(t.target_ratio * u.tokens_in - u.cache_read_tokens, 0),
              greatest(u.tokens_in - u.cache_read_tokens - u.cache_write_tokens, 0)) AS extra_cached_tokens,
        r.input_rate - r.cache_read_rate AS saving_per_token
    FROM usage AS u
    CROSS JOIN target AS t
    JOIN rates AS r ON r.model = u.model AND r.provider IS NOT DISTINCT FROM u.provider
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
