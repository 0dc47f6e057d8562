-- Screen: Models, acceptance by model. Grain: one row per model. A code edit (TOOL span with
-- accepted_flag set) is attributed to the model of the LLM span that is its parent.
SELECT
    coalesce(p.model, '(unknown)') AS model,
    count(*) AS edits,
    count(*) FILTER (WHERE t.accepted_flag) AS accepted_edits,
    accepted_edits / count(*) AS acceptance_rate,
    coalesce(sum(t.accepted_lines), 0) AS accepted_lines,
    avg(t.diff_ratio) AS avg_diff_ratio
FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
LEFT JOIN spans AS p
    ON p.span_id = t.parent_span_id
   AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
WHERE t.accepted_flag IS NOT NULL AND lens_allowed($models, p.model)
GROUP BY ALL
ORDER BY edits DESC, model;
