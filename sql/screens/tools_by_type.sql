-- Screen: Tools, performance by tool type. Grain: one row per tool type (lens_tool_type, sql/50_filtered.sql).
-- Rollups: tool_calls; p50/p95 ≈ from latency_histogram (tool_latency unfiltered; interpolated bucket middles, within ±6%).
-- Both are added up per tool first, then per type.
WITH per_tool AS (
    SELECT tool_name, sum(calls) AS calls, sum(failures) AS failures
    FROM filtered_tool_calls($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY tool_name
),
per_tool_bucket AS (
    SELECT tool_name, bucket, sum(spans) AS spans
    FROM filtered_tool_latency($start, $end, $developers, $teams, $models, $services, $repos)
    GROUP BY tool_name, bucket
),
calls AS (
    SELECT
        lens_tool_type(tool_name) AS tool_type,
        count(DISTINCT tool_name) AS tools,
        sum(calls) AS calls,
        sum(failures) AS failures
    FROM per_tool
    GROUP BY ALL
),
latency AS (
    SELECT
        tool_type,
        bucket,
        sum(sum(spans)) OVER (PARTITION BY tool_type ORDER BY bucket) AS upto,
        sum(sum(spans)) OVER (PARTITION BY tool_type) AS total
    FROM (
        SELECT
            lens_tool_type(tool_name) AS tool_type,
            bucket,
            spans
        FROM per_tool_bucket
    )
    GROUP BY tool_type, bucket
),
quantiles AS (
    SELECT
        tool_type,
        latency_quantile(bucket, upto, total, 0.50) AS p50_ms,
        latency_quantile(bucket, upto, total, 0.95) AS p95_ms
    FROM latency
    GROUP BY tool_type
)
SELECT
    c.tool_type,
    c.calls,
    c.tools,
    c.failures,
    c.failures / c.calls AS failure_rate,
    q.p50_ms,
    q.p95_ms
FROM calls AS c
LEFT JOIN quantiles AS q USING (tool_type)
ORDER BY calls DESC, tool_type;
