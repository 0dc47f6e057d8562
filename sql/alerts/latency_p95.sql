-- alerts: latency_p95 rules (grain: rule × model, or rule × 'all' for scope total). p95 of request
-- latency in [window_start, $now) against the p95 of [baseline_start, window_start); fires when the
-- recent p95 > threshold × the baseline p95 with at least min_count recent requests.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           CAST(unnest($thresholds) AS DOUBLE) AS threshold, CAST(unnest($min_counts) AS BIGINT) AS min_count,
           CAST(unnest($window_starts) AS TIMESTAMP) AS window_start,
           CAST(unnest($baseline_starts) AS TIMESTAMP) AS baseline_start
),
windows AS (
    SELECT DISTINCT window_start, baseline_start FROM rules
),
requests AS (
    SELECT w.window_start, w.baseline_start, s.start_time >= w.window_start AS recent, s.model, s.latency_ms
    FROM spans AS s
    JOIN windows AS w ON s.start_time >= w.baseline_start
    WHERE s.event_date >= CAST($min_start AS DATE) AND s.start_time >= CAST($min_start AS TIMESTAMP)
      AND s.start_time < CAST($now AS TIMESTAMP) AND s.is_request AND s.latency_ms IS NOT NULL
),
scoped AS (
    SELECT window_start, baseline_start,
           CASE WHEN grouping(model) = 0 THEN 'model' ELSE 'total' END AS scope,
           coalesce(CASE WHEN grouping(model) = 0 THEN model ELSE 'all' END, '(none)') AS subject,
           quantile_cont(latency_ms, 0.95) FILTER (WHERE recent) AS p95,
           count(*) FILTER (WHERE recent) AS requests,
           quantile_cont(latency_ms, 0.95) FILTER (WHERE NOT recent) AS base_p95
    FROM requests
    GROUP BY GROUPING SETS ((window_start, baseline_start, model), (window_start, baseline_start))
)
SELECT r.rule_id, s.subject, s.p95 AS value, r.threshold, s.base_p95 AS baseline, s.requests AS count,
       coalesce(s.requests >= r.min_count AND s.p95 > r.threshold * s.base_p95, false) AS firing
FROM rules AS r
JOIN scoped AS s ON s.scope = r.scope AND (r.name = '' OR s.subject = r.name)
 AND s.window_start = r.window_start AND s.baseline_start = r.baseline_start
ORDER BY r.rule_id, s.subject;
