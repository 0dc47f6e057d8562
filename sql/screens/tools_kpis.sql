-- Screen: Tools, KPI row. Grain: one row for the filtered window's tool calls (TOOL spans;
-- the model filter applies to the LLM span that called them).
-- Rollups: tool_calls; sessions from session_models.
SELECT
    coalesce(sum(calls), 0) AS calls,
    count(DISTINCT tool_name) AS tools,
    coalesce(sum(failures), 0) AS failures,
    sum(failures) / nullif(sum(calls), 0) AS failure_rate,
    coalesce(sum(edits), 0) AS edits,
    sum(accepted_edits) / nullif(sum(edits), 0) AS acceptance_rate,
    (SELECT count(DISTINCT session_id)
     FROM filtered_session_models($start, $end, $developers, $teams, $models, $services, $repos)
     WHERE tool_calls > 0) AS sessions
FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos);
