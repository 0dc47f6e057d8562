-- sessions_facets: one row, the choices for the Sessions screen's own filters (developers and
-- models seen in the shared filter window). Screen: Sessions.
SELECT
    coalesce(list_sort(list(DISTINCT developer_id) FILTER (WHERE developer_id IS NOT NULL)), []) AS developers,
    coalesce(list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL)), []) AS models
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos);
