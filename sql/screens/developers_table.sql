-- Screen: Developers, the table. Grain: one row per developer in the filtered window,
-- narrowed by $search (substring of developer or team, case-insensitive; '' = everyone).
-- Edits are TOOL spans (Edit/Write/...) attributed to the model of the LLM span that called them.
WITH usage AS (
    SELECT
        coalesce(developer_id, '(unknown)') AS developer,
        any_value(team) AS team,
        count(*) FILTER (WHERE is_request) AS requests,
        count(DISTINCT session_id) AS sessions,
        coalesce(sum(cost_usd), 0) AS cost_usd,
        coalesce(sum(tokens_in), 0) AS tokens_in,
        coalesce(sum(tokens_out), 0) AS tokens_out,
        max(start_time) AS last_active
    FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY ALL
),
favourite AS (
    SELECT developer, first(model ORDER BY n DESC, model) AS favourite_model
    FROM (
        SELECT coalesce(developer_id, '(unknown)') AS developer, model, count(*) AS n
        FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
        WHERE is_request AND model IS NOT NULL
        GROUP BY ALL
    )
    GROUP BY developer
),
edits AS (
    SELECT
        coalesce(t.developer_id, '(unknown)') AS developer,
        count(*) AS edits,
        count(*) FILTER (WHERE t.accepted_flag) AS accepted_edits,
        coalesce(sum(t.accepted_lines), 0) AS accepted_lines
    FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
    LEFT JOIN spans AS p
        ON p.span_id = t.parent_span_id
       AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
    WHERE t.accepted_flag IS NOT NULL AND lens_allowed($models, p.model)
    GROUP BY ALL
)
SELECT
    u.developer,
    u.team,
    u.requests,
    u.sessions,
    u.cost_usd,
    u.tokens_in,
    u.tokens_out,
    coalesce(e.edits, 0) AS edits,
    e.accepted_edits / nullif(e.edits, 0) AS acceptance_rate,
    coalesce(e.accepted_lines, 0) AS accepted_lines,
    u.cost_usd / nullif(e.accepted_lines, 0) AS cost_per_accepted_line,
    f.favourite_model,
    u.last_active
FROM usage AS u
LEFT JOIN edits AS e USING (developer)
LEFT JOIN favourite AS f USING (developer)
WHERE $search = '' OR u.developer ILIKE '%' || $search || '%' OR u.team ILIKE '%' || $search || '%'
ORDER BY u.cost_usd DESC, u.requests DESC, u.developer;
