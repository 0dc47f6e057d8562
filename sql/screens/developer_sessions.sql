-- Screen: Developers, one developer's sessions. Grain: one row per session of $developer
-- (only spans inside the filtered window count), newest first. A tool call counts under the
-- model filter through the LLM span that called it. Rollup: session_models; main_model is the
-- model with the most requests (ties: the first by name).
WITH activity AS (
    SELECT *
    FROM filtered_session_models($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE coalesce(developer_id, '(unknown)') = $developer
),
main AS (
    SELECT session_id, first(model ORDER BY requests DESC, model) AS main_model
    FROM (SELECT session_id, model, sum(requests) AS requests FROM activity WHERE requests > 0 GROUP BY ALL)
    GROUP BY session_id
)
SELECT
    a.session_id,
    min(a.started_at) AS started_at,
    epoch_ms(max(a.ended_at) - min(a.started_at)) / 60000.0 AS duration_min,
    min(a.repo_slug) AS repo,
    sum(a.requests) AS requests,
    sum(a.tool_calls) AS tool_calls,
    sum(a.errors) AS errors,
    sum(a.cost_usd) AS cost_usd,
    any_value(m.main_model) AS main_model
FROM activity AS a
LEFT JOIN main AS m USING (session_id)
GROUP BY a.session_id
ORDER BY started_at DESC
LIMIT 500;
