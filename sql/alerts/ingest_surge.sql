-- alerts: dead_letter_surge and unpriced_surge rules (grain: rule × subject), from ingest_runs.
-- The share of records read that became dead letters (or unpriced spans) in runs started in
-- [window_start, $now), against the share in [baseline_start, window_start); fires when at least
-- min_count such records arrived and the share > threshold × the baseline share.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           unnest($kinds) AS kind, CAST(unnest($thresholds) AS DOUBLE) AS threshold,
           CAST(unnest($min_counts) AS BIGINT) AS min_count,
           CAST(unnest($window_starts) AS TIMESTAMP) AS window_start,
           CAST(unnest($baseline_starts) AS TIMESTAMP) AS baseline_start
),
runs AS (
    SELECT started_at, coalesce(source, '(none)') AS source, coalesce(read, 0) AS read,
           coalesce(dead_letters, 0) AS dead_letters, coalesce(unpriced, 0) AS unpriced
    FROM ingest_runs
    WHERE started_at >= CAST($min_start AS TIMESTAMP) AND started_at < CAST($now AS TIMESTAMP)
),
valued AS (
    SELECT r.rule_id, CASE r.scope WHEN 'source' THEN u.source ELSE 'all' END AS subject,
           any_value(r.threshold) AS threshold, any_value(r.min_count) AS min_count,
           sum(CASE r.kind WHEN 'unpriced' THEN u.unpriced ELSE u.dead_letters END) FILTER (WHERE u.started_at >= r.window_start) AS bad,
           sum(u.read) FILTER (WHERE u.started_at >= r.window_start) AS read,
           sum(CASE r.kind WHEN 'unpriced' THEN u.unpriced ELSE u.dead_letters END) FILTER (WHERE u.started_at < r.window_start) AS base_bad,
           sum(u.read) FILTER (WHERE u.started_at < r.window_start) AS base_read
    FROM rules AS r
    JOIN runs AS u ON u.started_at >= r.baseline_start AND (r.name = '' OR r.scope <> 'source' OR u.source = r.name)
    GROUP BY r.rule_id, subject
)
SELECT rule_id, subject, bad / nullif(read, 0) AS value, threshold,
       coalesce(base_bad / nullif(base_read, 0), 0) AS baseline, CAST(bad AS BIGINT) AS count,
       coalesce(bad >= min_count AND bad / nullif(read, 0) > threshold * coalesce(base_bad / nullif(base_read, 0), 0), false) AS firing
FROM valued
ORDER BY rule_id, subject;
