-- Screen: Developers, one developer's cost allocation. Grain: one row per (repo, model) for $developer.
-- Only priced spans count (cost known). Rollup: daily_metrics (whole days; edge hours from hourly_metrics).
SELECT
    coalesce(repo_slug, '(unknown repo)') AS repo,
    coalesce(model, '(none)') AS model,
    sum(cost_usd) AS cost_usd,
    sum(priced_requests) AS requests
FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer
GROUP BY ALL
HAVING sum(priced_spans) > 0
ORDER BY cost_usd DESC, repo, model;
