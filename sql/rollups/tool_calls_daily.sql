-- Rollup: tool_calls (the same day's, computed just before it) per day, without the hour: about a
-- third of its rows, for the screens' whole days (filtered_tool_calls reads the hours at a window's
-- edges from tool_calls). `day` repeats event_date, as in daily_metrics. Additive measures only.
SELECT
    CAST(hour AS DATE) AS day,
    developer_id,
    team,
    service_name,
    repo_slug,
    caller_model,
    tool_name,
    sum(calls) AS calls,
    sum(failures) AS failures,
    sum(edits) AS edits,
    sum(accepted_edits) AS accepted_edits,
    sum(edit_lines) AS edit_lines,
    sum(diff_ratio_sum) AS diff_ratio_sum,
    sum(diff_ratios) AS diff_ratios
FROM tool_calls
GROUP BY ALL
