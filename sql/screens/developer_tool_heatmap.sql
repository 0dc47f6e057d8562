-- Screen: Developers, one developer's tool-use heatmap. Grain: one row per (tool, UTC hour of day)
-- for $developer; tool calls follow the model filter through the LLM span that called them.
-- Rollup: tool_calls.
SELECT
    coalesce(tool_name, '(unnamed)') AS tool,
    hour(hour) AS hour_utc,
    sum(calls) AS calls,
    sum(failures) AS failures
FROM filtered_tool_calls_hourly($start, $end, $developers, $teams, $models, $services, $repos)
WHERE coalesce(developer_id, '(unknown)') = $developer
GROUP BY ALL
ORDER BY tool, hour_utc;
