-- alerts: error_rate and error_spike rules (grain: rule × subject). A model call is a request or a
-- failed LLM call (those carry no usage), as on the Live screen. Recent = [window_start, $now);
-- baseline = [baseline_start, window_start), its start rounded down to the hour when it spans whole
-- hours (those are read from the hourly_metrics rollup; hour_start..hour_end below). `rate` fires when
-- the recent rate > threshold with at least min_count calls; `spike` when it is > threshold × the
-- baseline rate with min_count errors.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           unnest($kinds) AS kind, CAST(unnest($thresholds) AS DOUBLE) AS threshold,
           CAST(unnest($min_counts) AS BIGINT) AS min_count,
           CAST(unnest($window_starts) AS TIMESTAMP) AS window_start,
           CAST(unnest($baseline_starts) AS TIMESTAMP) AS baseline_start,
           CAST(unnest($hour_starts) AS TIMESTAMP) AS hour_start, CAST(unnest($hour_ends) AS TIMESTAMP) AS hour_end
),
windows AS (
    SELECT DISTINCT window_start, baseline_start, hour_start, hour_end FROM rules
),
-- The whole hours [hour_start, hour_end) of a baseline come from the hourly_metrics rollup, the rest
-- (the partial hour before window_start and the recent window) from the spans: both pruned by
-- event_date, so the spans of the baseline's day are not read. A `source` rule reads only spans
-- (the rollup has no source; its hour_start = hour_end). The rollup counts model calls the same way.
minutes AS (
    SELECT date_trunc('minute', start_time) AS minute, false AS whole_hour, developer_id, team, model, service_name,
           source, project, count(*) AS calls, count(*) FILTER (WHERE is_error) AS errors
    FROM spans
    WHERE event_date >= CAST($span_start AS DATE) AND start_time >= CAST($span_start AS TIMESTAMP)
      AND start_time < CAST($now AS TIMESTAMP)
      AND (is_request OR (span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request'))
    GROUP BY ALL
    UNION ALL
    SELECT hour, true, developer_id, team, model, service_name, NULL AS source, project,
           sum(model_calls), sum(model_call_errors)
    FROM hourly_metrics
    WHERE event_date >= CAST($hours_min AS DATE) AND event_date <= CAST($hours_max AS DATE)
      AND hour >= CAST($hours_min AS TIMESTAMP) AND hour < CAST($hours_max AS TIMESTAMP)
      AND model_calls > 0
    GROUP BY ALL
),
calls AS (
    SELECT w.window_start, w.baseline_start, w.hour_start, w.hour_end, m.minute >= w.window_start AS recent, m.* EXCLUDE (minute, whole_hour)
    FROM minutes AS m
    JOIN windows AS w ON CASE WHEN m.whole_hour THEN m.minute >= w.hour_start AND m.minute < w.hour_end
                              ELSE m.minute >= CASE WHEN w.hour_start < w.hour_end THEN w.hour_end ELSE w.baseline_start END END
),
unpivoted AS (  -- each row once per scope (cheaper than GROUPING SETS here)
    SELECT * EXCLUDE (developer_id, team, model, service_name, source, project),
           unnest(['developer', 'team', 'model', 'service', 'source', 'project', 'total']) AS scope,
           unnest([developer_id, team, model, service_name, source, project, 'all']) AS subject
    FROM calls
),
scoped AS (
    SELECT window_start, baseline_start, hour_start, hour_end, scope, coalesce(subject, '(none)') AS subject,
           coalesce(sum(calls) FILTER (WHERE recent), 0) AS calls,
           coalesce(sum(errors) FILTER (WHERE recent), 0) AS errors,
           coalesce(sum(calls) FILTER (WHERE NOT recent), 0) AS base_calls,
           coalesce(sum(errors) FILTER (WHERE NOT recent), 0) AS base_errors
    FROM unpivoted
    WHERE scope IN (SELECT scope FROM rules)
    GROUP BY ALL
),
valued AS (
    SELECT r.rule_id, s.subject, r.kind, r.threshold, r.min_count, s.calls, s.errors,
           s.errors / nullif(s.calls, 0) AS value,
           s.base_errors / nullif(s.base_calls, 0) AS baseline
    FROM rules AS r
    JOIN scoped AS s ON s.scope = r.scope AND (r.name = '' OR s.subject = r.name)
     AND s.window_start = r.window_start AND s.baseline_start = r.baseline_start
     AND s.hour_start = r.hour_start AND s.hour_end = r.hour_end
)
SELECT rule_id, subject, value, threshold, baseline, calls AS count,
       coalesce(CASE kind
           WHEN 'rate' THEN calls >= min_count AND value > threshold
           ELSE errors >= min_count AND value > threshold * coalesce(baseline, 0)
       END, false) AS firing
FROM valued
ORDER BY rule_id, subject;
