-- sessions_facets: one row, the choices for the Sessions screen's own filters (developers and
-- models seen in the shared filter window; the window counts whole days). Screen: Sessions.
-- Rollup: daily_metrics. Every span of a day is in session_models, which sessions_list reads, and in
-- daily_metrics, with the same developer, team, service, repo and model: the same choices from a
-- ninth of the rows.
SELECT
    coalesce(list_sort(list(DISTINCT developer_id) FILTER (WHERE developer_id IS NOT NULL)), []) AS developers,
    coalesce(list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL)), []) AS models
FROM filtered_daily($start, $end, $developers, $teams, $models, $services, $repos);
