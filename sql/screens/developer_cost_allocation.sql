-- Screen: Developers, one developer's cost allocation. Grain: one row per (repo, model) for $developer.
SELECT
    coalesce(repo_slug, '(unknown repo)') AS repo,
    coalesce(model, '(none)') AS model,
    coalesce(sum(cost_usd), 0) AS cost_usd,
    count(*) FILTER (WHERE is_request) AS requests
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer AND cost_usd IS NOT NULL
GROUP BY ALL
ORDER BY cost_usd DESC, repo, model;
