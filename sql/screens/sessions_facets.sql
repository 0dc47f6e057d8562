-- sessions_facets: one row, the choices for the Sessions screen's own filters (developers and
-- models seen in the shared filter window, from `session_models`; the window counts whole days). Screen: Sessions.
SELECT
    coalesce(list_sort(list(DISTINCT developer_id) FILTER (WHERE developer_id IS NOT NULL)), []) AS developers,
    coalesce(list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL)), []) AS models
FROM session_models
WHERE event_date >= CAST($start AS DATE) AND event_date < CAST($end AS DATE)
  AND lens_allowed($developers, developer_id)
  AND lens_allowed($teams, team)
  AND lens_allowed($models, model)
  AND lens_allowed($services, service_name)
  AND lens_allowed($repos, repo_slug);
