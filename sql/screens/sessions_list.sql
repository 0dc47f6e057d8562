-- sessions_list: one row per session with any span in the shared filter window. Screen: Sessions.
-- Totals are the whole session's (view `sessions`), so a row's cost equals
--   SELECT sum(cost_usd) FROM spans WHERE session_id = ?
-- Page filters: $page_developers, $page_models (empty list = all; a session matches a model it used),
-- $min_cost, $min_duration_s, $max_duration_s (NULL = no bound), $errors_only.
WITH touched AS (
    SELECT DISTINCT session_id
    FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
)
SELECT
    s.session_id,
    s.developer_id,
    s.team,
    s.repo_slug,
    s.started_at,
    s.duration_s,
    s.main_model,
    s.requests,
    s.tool_calls,
    s.errors,
    coalesce(s.tokens_in, 0) + coalesce(s.tokens_out, 0) AS tokens,
    s.cost_usd,
    s.accepted_edits,
    s.edits
FROM sessions AS s
SEMI JOIN touched USING (session_id)
WHERE lens_allowed($page_developers, s.developer_id)
  AND (len($page_models) = 0 OR list_has_any(s.models, $page_models))
  AND ($min_cost IS NULL OR coalesce(s.cost_usd, 0) >= $min_cost)
  AND ($min_duration_s IS NULL OR s.duration_s >= $min_duration_s)
  AND ($max_duration_s IS NULL OR s.duration_s <= $max_duration_s)
  AND (NOT $errors_only OR s.errors > 0)
ORDER BY s.started_at DESC, s.session_id;
