-- Rollup: one row per (hour, developer, team, service, repo, caller model, tool) of one day's TOOL
-- spans. caller_model is the model of the LLM span that called the tool (its parent), which the
-- screens' model filter applies to; the parent is looked up in this day's and the previous day's
-- spans (rollups.LOOKBACK), as the raw screens did. Additive measures only: edits are TOOL spans
-- with accepted_flag set, edit_lines their accepted_lines, diff_ratio_sum/diff_ratios give the
-- mean diff ratio. Rebuilt for every partition an ingest touches and the day after it.
WITH callers AS (SELECT span_id, model FROM spans WHERE model IS NOT NULL),
tools AS (
    SELECT * FROM spans WHERE span_kind = 'TOOL' AND event_date = (SELECT max(event_date) FROM spans)
)
SELECT
    date_trunc('hour', t.start_time) AS hour,
    t.developer_id,
    t.team,
    t.service_name,
    t.repo_slug,
    p.model AS caller_model,
    t.tool_name,
    count(*) AS calls,
    count(*) FILTER (WHERE t.is_error) AS failures,
    count(*) FILTER (WHERE t.accepted_flag IS NOT NULL) AS edits,
    count(*) FILTER (WHERE t.accepted_flag) AS accepted_edits,
    coalesce(sum(t.accepted_lines) FILTER (WHERE t.accepted_flag IS NOT NULL), 0) AS edit_lines,
    coalesce(sum(t.diff_ratio) FILTER (WHERE t.accepted_flag IS NOT NULL), 0) AS diff_ratio_sum,
    count(t.diff_ratio) FILTER (WHERE t.accepted_flag IS NOT NULL) AS diff_ratios
FROM tools AS t
LEFT JOIN callers AS p ON p.span_id = t.parent_span_id
GROUP BY ALL
