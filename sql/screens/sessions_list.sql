-- sessions_list: one row per session with any span in the shared filter window. Screen: Sessions.
-- Totals are the whole session's (view `sessions`, the rollup `session_totals`; touched sessions come
-- from `session_models`), so a row's cost equals sum(cost_usd) of the session's `spans`.
-- Page filters: $page_developers, $page_models (empty list = all; a session matches a model it used),
-- $min_cost, $min_duration_s, $max_duration_s (NULL = no bound), $errors_only. Sorted by $sort_by
-- (newest, cost, duration, errors or requests; then newest first), the first $max_sessions rows
-- (NULL = all); `matching` counts every row the filters keep. The filters and the order read a few
-- columns of each session, and only the rows shown are joined to the rest: a hash table of whole
-- rows (lists and strings) took 23 of a query's 39 ms of CPU on a synthetic year.
WITH touched AS (
    -- sessions with a span in the window that passes the filters (the model filter on the span's own model)
    SELECT DISTINCT session_id
    FROM session_models
    WHERE event_date >= CAST($start AS DATE) AND event_date < CAST($end AS DATE)
      AND lens_allowed($developers, developer_id)
      AND lens_allowed($teams, team)
      AND lens_allowed($models, model)
      AND lens_allowed($services, service_name)
      AND lens_allowed($repos, repo_slug)
),
kept AS (
    -- the rows to show, from the columns the filters and the order read; `matching` before the limit
    SELECT
        s.session_id,
        s.started_at,
        CASE $sort_by WHEN 'cost' THEN coalesce(s.cost_usd, 0) WHEN 'duration' THEN s.duration_s
                      WHEN 'errors' THEN s.errors WHEN 'requests' THEN s.requests END AS sort_key,
        count(*) OVER () AS matching
    FROM sessions AS s
    SEMI JOIN touched USING (session_id)
    -- implied by touched (a span in the window), and lets the files' row groups outside it be skipped
    WHERE s.first_day < CAST($end AS DATE) AND s.last_day >= CAST($start AS DATE)
      AND lens_allowed($page_developers, s.developer_id)
      AND (len($page_models) = 0 OR list_has_any(s.models, $page_models))
      AND ($min_cost IS NULL OR coalesce(s.cost_usd, 0) >= $min_cost)
      AND ($min_duration_s IS NULL OR s.duration_s >= $min_duration_s)
      AND ($max_duration_s IS NULL OR s.duration_s <= $max_duration_s)
      AND (NOT $errors_only OR s.errors > 0)
    ORDER BY sort_key DESC NULLS LAST, s.started_at DESC, s.session_id
    LIMIT $max_sessions
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
    k.matching
FROM kept AS k
JOIN sessions AS s USING (session_id)
WHERE s.first_day < CAST($end AS DATE) AND s.last_day >= CAST($start AS DATE)
ORDER BY k.sort_key DESC NULLS LAST, k.started_at DESC, k.session_id;
