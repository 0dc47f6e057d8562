-- Screen: Models, acceptance by model. Grain: one row per model. A code edit (TOOL span with
-- accepted_flag set) is attributed to the model of the LLM span that is its parent. Rollup: tool_calls.
SELECT
    coalesce(caller_model, '(unknown)') AS model,
    sum(edits) AS edits,
    sum(accepted_edits) AS accepted_edits,
    sum(accepted_edits) / sum(edits) AS acceptance_rate,
    sum(edit_lines) AS accepted_lines,
    sum(diff_ratio_sum) / nullif(sum(diff_ratios), 0) AS avg_diff_ratio
FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
WHERE edits > 0
GROUP BY ALL
ORDER BY edits DESC, model;
