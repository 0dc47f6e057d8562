-- Screen: Tools, tool chains. Grain: one row per (tool, next tool) among the $top most used tools:
-- consecutive TOOL spans of one session ordered by start_time. share = transitions / all
-- transitions out of the same tool (counting those to tools outside the top).
-- Rollups: tool_transitions (tool_chains unfiltered; see its header for what a model filter approximates), tool_calls for the top tools.
WITH pairs AS (
    SELECT coalesce(from_tool, '(unnamed)') AS tool, coalesce(to_tool, '(unnamed)') AS next_tool, sum(transitions) AS transitions
    FROM filtered_tool_chains($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY ALL
),
top_tools AS (
    SELECT coalesce(tool_name, '(unnamed)') AS tool
    FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY ALL
    ORDER BY sum(calls) DESC, tool
    LIMIT $top
)
SELECT
    tool,
    next_tool,
    transitions,
    transitions / sum(transitions) OVER (PARTITION BY tool) AS share
FROM pairs
QUALIFY tool IN (SELECT tool FROM top_tools) AND next_tool IN (SELECT tool FROM top_tools)
ORDER BY tool, transitions DESC, next_tool;
