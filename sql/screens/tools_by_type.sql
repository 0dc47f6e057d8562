-- Screen: Tools, performance by tool type. Grain: one row per tool type (groups as in tools_usage.sql).
WITH tool_calls AS (
    SELECT t.*
    FROM filtered_spans($start, $end, $developers, $teams, [], $services, $repos) AS t
    LEFT JOIN spans AS p
        ON p.span_id = t.parent_span_id
       AND p.event_date BETWEEN CAST($start AS DATE) - 1 AND CAST($end AS DATE)
    WHERE t.span_kind = 'TOOL' AND lens_allowed($models, p.model)
)
SELECT
    CASE
        WHEN tool_name LIKE 'mcp\_\_%' ESCAPE '\' THEN 'MCP'
        WHEN tool_name IN ('Read', 'NotebookRead', 'LS') THEN 'file read'
        WHEN tool_name IN ('Edit', 'Write', 'MultiEdit', 'NotebookEdit') THEN 'file edit'
        WHEN tool_name IN ('Bash', 'BashOutput', 'KillShell', 'KillBash') THEN 'shell'
        WHEN tool_name IN ('Grep', 'Glob') THEN 'search'
        WHEN tool_name IN ('WebFetch', 'WebSearch') THEN 'web'
        WHEN tool_name IN ('Task', 'Agent', 'Skill', 'SlashCommand', 'TodoWrite', 'ExitPlanMode') THEN 'agent'
        ELSE 'other'
    END AS tool_type,
    count(*) AS calls,
    count(DISTINCT tool_name) AS tools,
    count(*) FILTER (WHERE is_error) AS failures,
    failures / count(*) AS failure_rate,
    quantile_cont(latency_ms, 0.50) AS p50_ms,
    quantile_cont(latency_ms, 0.95) AS p95_ms
FROM tool_calls
GROUP BY ALL
ORDER BY calls DESC, tool_type;
