-- Rollup: one day's tool transitions without the filter dimensions, one row per (from tool, to tool,
-- crosses midnight): the Tools screen's chains when no filter is set (a two-hundredth of the rows of
-- tool_transitions, the same day's, computed just before it). Additive measures only.
SELECT from_tool, to_tool, crosses_midnight, sum(transitions) AS transitions
FROM tool_transitions
GROUP BY ALL
