-- sessions_list: one row per session with any span in the shared filter window. Screen: Sessions.
-- Totals are the whole session's, added up from `session_days` as the view `sessions` does (touched
-- sessions come from `session_activity`), so a row's cost equals sum(cost_usd) of the session's `spans`.
-- Page filters: $page_developers, $page_models (empty list = all; a session matches a model it used),
-- $min_cost, $min_duration_s, $max_duration_s (NULL = no bound), $errors_only. Sorted by $sort_by
-- (newest, cost, duration, errors or requests; then newest first), the first $max_sessions rows
-- (NULL = all); `matching` counts every row the filters keep.
WITH touched AS (
    -- sessions with a span in the window that passes the filters (the model filter on the span's own model)
    SELECT DISTINCT session_id
    FROM session_activity
    WHERE event_date >= CAST($start AS DATE) AND event_date < CAST($end AS DATE)
      AND lens_allowed($developers, developer_id)
      AND lens_allowed($teams, team)
      AND lens_allowed($models, model)
      AND lens_allowed($services, service_name)
      AND lens_allowed($repos, repo_slug)
),
s AS (
    -- the `sessions` view's columns, added up over the touched sessions' days only
    SELECT
        session_id,
        arg_min(developer_id, started_at) FILTER (WHERE developer_id IS NOT NULL) AS developer_id,
        arg_min(team, started_at) FILTER (WHERE team IS NOT NULL) AS team,
        arg_min(repo_slug, started_at) FILTER (WHERE repo_slug IS NOT NULL) AS repo_slug,
        min(started_at) AS started_at,
        epoch_ms(max(ended_at) - min(started_at)) / 1000.0 AS duration_s,
        sum(requests) AS requests,
        sum(tool_calls) AS tool_calls,
        sum(errors) AS errors,
        sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out,
        sum(cost_usd) AS cost_usd,
        arg_max(model, requests) FILTER (WHERE model IS NOT NULL AND requests > 0) AS main_model,
        coalesce(bool_or(list_contains($page_models, model)), false) AS uses_page_model,
        sum(edits) AS edits,
        sum(accepted_edits) AS accepted_edits
    FROM session_days
    SEMI JOIN touched USING (session_id)
    GROUP BY session_id
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
    s.edits,
    count(*) OVER () AS matching
FROM s
WHERE lens_allowed($page_developers, s.developer_id)
  AND (len($page_models) = 0 OR s.uses_page_model)
  AND ($min_cost IS NULL OR coalesce(s.cost_usd, 0) >= $min_cost)
  AND ($min_duration_s IS NULL OR s.duration_s >= $min_duration_s)
  AND ($max_duration_s IS NULL OR s.duration_s <= $max_duration_s)
  AND (NOT $errors_only OR s.errors > 0)
ORDER BY
    CASE $sort_by WHEN 'cost' THEN coalesce(s.cost_usd, 0) WHEN 'duration' THEN s.duration_s
                  WHEN 'errors' THEN s.errors WHEN 'requests' THEN s.requests END DESC NULLS LAST,
    s.started_at DESC, s.session_id
LIMIT $max_sessions;
