-- Screen: Overview, top tools. Grain: one row per tool, the $limit most called.
-- Tool calls (TOOL spans) carry no model: the model filter applies to the LLM span that called them.
-- Rollup: tool_calls.
SELECT
    coalesce(tool_name, '(unnamed)') AS tool,
    sum(calls) AS calls,
    sum(failures) AS failures,
    sum(failures) / sum(calls) AS failure_rate
FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
GROUP BY tool_name
ORDER BY calls DESC, tool
LIMIT $limit;
