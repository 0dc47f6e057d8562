-- Screen: Tools, per-tool table and charts. Grain: one row per tool in the filtered window.
-- Tool calls are TOOL spans; the model filter applies to the LLM span that called them.
-- tool_type groups: keep in step with tools_by_type.sql.
-- Rollups: tool_calls; sessions from tool_sessions (filtered: session_activity) and session_totals; p50/p95 ≈ from latency_histogram
-- (tool_latency unfiltered; the middle of the bucket holding the quantile, within ±6%).
WITH calls AS (
    SELECT
        tool_name,
        sum(calls) AS calls,
        sum(failures) AS failures,
        count(DISTINCT developer_id) AS developers
    FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY tool_name
),
per_tool_sessions AS (
    -- A session whose spans all fall on one day (sessions.first_day = last_day) has one row per tool
    -- and is counted as it is; the others (and any the sessions view does not show) are counted
    -- distinct, which costs more.
    SELECT
        t.tool_name,
        count(*) FILTER (WHERE one_day.session_id IS NOT NULL)
            + count(DISTINCT t.session_id) FILTER (WHERE one_day.session_id IS NULL) AS sessions
    FROM filtered_tool_sessions($start, $end, $developers, $teams, $models, $services, $repos) AS t
    LEFT JOIN (
        SELECT session_id FROM sessions
        WHERE first_day = last_day AND first_day >= CAST($start AS DATE) AND first_day < CAST($end AS DATE)
    ) AS one_day USING (session_id)
    GROUP BY t.tool_name
),
latency AS (
    SELECT
        tool_name,
        bucket,
        sum(sum(spans)) OVER (PARTITION BY tool_name ORDER BY bucket) AS upto,
        sum(sum(spans)) OVER (PARTITION BY tool_name) AS total
    FROM filtered_tool_latency($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY tool_name, bucket
),
quantiles AS (
    SELECT
        tool_name,
        latency_quantile(bucket, upto, total, 0.50) AS p50_ms,
        latency_quantile(bucket, upto, total, 0.95) AS p95_ms
    FROM latency
    GROUP BY tool_name
)
SELECT
    coalesce(c.tool_name, '(unnamed)') AS tool,
    lens_tool_type(c.tool_name) AS tool_type,
    c.calls,
    c.calls - c.failures AS successes,
    c.failures,
    c.failures / c.calls AS failure_rate,
    q.p50_ms,
    q.p95_ms,
    coalesce(s.sessions, 0) AS sessions,
    c.developers
FROM calls AS c
LEFT JOIN per_tool_sessions AS s ON s.tool_name IS NOT DISTINCT FROM c.tool_name
LEFT JOIN quantiles AS q ON q.tool_name IS NOT DISTINCT FROM c.tool_name
ORDER BY calls DESC, tool;
