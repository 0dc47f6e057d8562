-- Rollup: latency histogram of one day's requests and tool calls, one row per (kind, developer,
-- team, service, repo, model, tool, bucket). kind 'request': is_request spans, model = their model;
-- kind 'tool': TOOL spans, model = the caller's model (parent, this day or the previous one).
-- Buckets are log-spaced, 20 per decade: bucket k holds latency_ms in [10^(k/20), 10^((k+1)/20)),
-- latencies under 1 ms in bucket 0, and bucket -1 holds latency 0 or less. A quantile read from
-- it (the bucket's geometric middle) is within ±6% of the exact one: screens show it as "≈".
-- Rebuilt for every partition an ingest touches and the day after it.
WITH callers AS (SELECT span_id, model FROM spans WHERE model IS NOT NULL),
day AS (
    SELECT * FROM spans
    WHERE event_date = (SELECT max(event_date) FROM spans)
      AND latency_ms IS NOT NULL AND (is_request OR span_kind = 'TOOL')
)
SELECT
    CASE WHEN s.is_request THEN 'request' ELSE 'tool' END AS kind,
    s.developer_id,
    s.team,
    s.service_name,
    s.repo_slug,
    CASE WHEN s.is_request THEN s.model ELSE p.model END AS model,
    CASE WHEN s.span_kind = 'TOOL' THEN s.tool_name END AS tool_name,
    CASE WHEN s.latency_ms <= 0 THEN -1
         ELSE CAST(floor(log10(greatest(s.latency_ms, 1)) * 20) AS INTEGER) END AS bucket,
    count(*) AS spans
FROM day AS s
LEFT JOIN callers AS p ON p.span_id = s.parent_span_id
GROUP BY ALL
