-- Screen: Developers, the table. Grain: one row per developer in the filtered window,
-- narrowed by $search (substring of developer or team, case-insensitive; an unmapped developer's
-- team reads "(no team)", as on screen; '' = everyone).
-- Edits are TOOL spans (Edit/Write/...) attributed to the model of the LLM span that called them.
-- Rollups: daily_metrics (usage, favourite model), session_models (sessions, last active),
-- tool_calls (edits).
WITH per_model AS (
    SELECT
        coalesce(developer_id, '(unknown)') AS developer,
        model,
        any_value(team) AS team,
        sum(requests) AS requests,
        sum(cost_usd) AS cost_usd,
        sum(tokens_in) AS tokens_in,
        sum(tokens_out) AS tokens_out
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY ALL
),
usage AS (
    SELECT developer, any_value(team) AS team, sum(requests) AS requests, sum(cost_usd) AS cost_usd,
           sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out
    FROM per_model
    GROUP BY developer
),
activity AS (
    SELECT coalesce(developer_id, '(unknown)') AS developer, count(DISTINCT session_id) AS sessions, max(last_start) AS last_active
    FROM filtered_session_models($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE len($models) = 0 OR model IS NOT NULL
    GROUP BY ALL
),
favourite AS (
    SELECT developer, first(model ORDER BY requests DESC, model) AS favourite_model
    FROM per_model
    WHERE model IS NOT NULL AND requests > 0
    GROUP BY developer
),
edits AS (
    SELECT
        coalesce(developer_id, '(unknown)') AS developer,
        sum(edits) AS edits,
        sum(accepted_edits) AS accepted_edits,
        sum(edit_lines) AS accepted_lines
    FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
    WHERE edits > 0
    GROUP BY ALL
)
SELECT
    u.developer,
    u.team,
    u.requests,
    a.sessions,
    u.cost_usd,
    u.tokens_in,
    u.tokens_out,
    coalesce(e.edits, 0) AS edits,
    e.accepted_edits / nullif(e.edits, 0) AS acceptance_rate,
    coalesce(e.accepted_lines, 0) AS accepted_lines,
    u.cost_usd / nullif(e.accepted_lines, 0) AS cost_per_accepted_line,
    f.favourite_model,
    a.last_active
FROM usage AS u
LEFT JOIN activity AS a USING (developer)
LEFT JOIN edits AS e USING (developer)
LEFT JOIN favourite AS f USING (developer)
WHERE $search = '' OR u.developer ILIKE '%' || $search || '%' OR coalesce(u.team, '(no team)') ILIKE '%' || $search || '%'
ORDER BY u.cost_usd DESC, u.requests DESC, u.developer;
