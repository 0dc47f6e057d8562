-- Rollup: the sessions each tool was called in on one day, one row per (tool, session), whatever
-- the developer, model, service or repo: the Tools screen's sessions per tool when no filter is set
-- (under half of session_activity's tool rows, and no filter columns to read). Reads session_activity
-- (the same day's, computed just before it). Additive measures only.
SELECT tool_name, session_id, sum(tool_calls) AS calls
FROM session_activity
WHERE tool_calls > 0
GROUP BY ALL
