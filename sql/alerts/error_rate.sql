-- alerts: error_rate and error_spike rules (grain: rule × subject). A model call is a request or a
-- failed LLM call (those carry no usage), as on the Live screen. Recent = [window_start, $now);
-- baseline = [baseline_start, window_start). `rate` fires when the recent rate > threshold with at
-- least min_count calls; `spike` when it is > threshold × the baseline rate with min_count errors.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           unnest($kinds) AS kind, CAST(unnest($thresholds) AS DOUBLE) AS threshold,
           CAST(unnest($min_counts) AS BIGINT) AS min_count,
           CAST(unnest($window_starts) AS TIMESTAMP) AS window_start,
           CAST(unnest($baseline_starts) AS TIMESTAMP) AS baseline_start
),
windows AS (
    SELECT DISTINCT window_start, baseline_start FROM rules
),
minutes AS (  -- one pass over the spans; the windows then join these (far fewer) rows
    SELECT date_trunc('minute', start_time) AS minute, developer_id, team, model, service_name, source, project,
           count(*) AS calls, count(*) FILTER (WHERE is_error) AS errors
    FROM spans
    WHERE event_date >= CAST($min_start AS DATE) AND start_time >= CAST($min_start AS TIMESTAMP)
      AND start_time < CAST($now AS TIMESTAMP)
      AND (is_request OR (span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request'))
    GROUP BY ALL
),
calls AS (
    SELECT w.window_start, w.baseline_start, m.minute >= w.window_start AS recent, m.* EXCLUDE (minute)
    FROM minutes AS m
    JOIN windows AS w ON m.minute >= w.baseline_start
),
scoped AS (
    SELECT window_start, baseline_start,
           CASE WHEN grouping(developer_id) = 0 THEN 'developer' WHEN grouping(team) = 0 THEN 'team'
                WHEN grouping(model) = 0 THEN 'model' WHEN grouping(service_name) = 0 THEN 'service'
                WHEN grouping(source) = 0 THEN 'source' WHEN grouping(project) = 0 THEN 'project' ELSE 'total' END AS scope,
           coalesce(CASE WHEN grouping(developer_id) = 0 THEN developer_id WHEN grouping(team) = 0 THEN team
                         WHEN grouping(model) = 0 THEN model WHEN grouping(service_name) = 0 THEN service_name
                         WHEN grouping(source) = 0 THEN source WHEN grouping(project) = 0 THEN project
                         ELSE 'all' END, '(none)') AS subject,
           coalesce(sum(calls) FILTER (WHERE recent), 0) AS calls,
           coalesce(sum(errors) FILTER (WHERE recent), 0) AS errors,
           coalesce(sum(calls) FILTER (WHERE NOT recent), 0) AS base_calls,
           coalesce(sum(errors) FILTER (WHERE NOT recent), 0) AS base_errors
    FROM calls
    GROUP BY GROUPING SETS (
        (window_start, baseline_start, developer_id), (window_start, baseline_start, team),
        (window_start, baseline_start, model), (window_start, baseline_start, service_name),
        (window_start, baseline_start, source), (window_start, baseline_start, project),
        (window_start, baseline_start))
),
valued AS (
    SELECT r.rule_id, s.subject, r.kind, r.threshold, r.min_count, s.calls, s.errors,
           s.errors / nullif(s.calls, 0) AS value,
           s.base_errors / nullif(s.base_calls, 0) AS baseline
    FROM rules AS r
    JOIN scoped AS s ON s.scope = r.scope AND (r.name = '' OR s.subject = r.name)
     AND s.window_start = r.window_start AND s.baseline_start = r.baseline_start
)
SELECT rule_id, subject, value, threshold, baseline, calls AS count,
       coalesce(CASE kind
           WHEN 'rate' THEN calls >= min_count AND value > threshold
           ELSE errors >= min_count AND value > threshold * coalesce(baseline, 0)
       END, false) AS firing
FROM valued
ORDER BY rule_id, subject;
