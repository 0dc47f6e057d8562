-- alerts: source_silent rules (grain: rule × source or project). Minutes since the newest span of a
-- source or project, relative to $now, looking back to $min_start; fires above the threshold (minutes).
-- A rule that names a subject with no span in the look-back fires with value NULL (silent all along).
-- Rollup: filter_values (newest span per day of each source and project) for the days before $now's;
-- $now's own day from the spans, where a span after $now does not count.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           CAST(unnest($thresholds) AS DOUBLE) AS threshold
),
last_seen AS (
    SELECT CASE dimension WHEN 'sources' THEN 'source' ELSE 'project' END AS scope, value AS subject,
           max(last_start) AS last_span
    FROM filter_values
    WHERE dimension IN ('sources', 'projects')
      AND event_date >= CAST($min_start AS DATE) AND event_date < CAST($now AS DATE)
      AND last_start >= CAST($min_start AS TIMESTAMP)
    GROUP BY ALL
    UNION ALL
    SELECT scope, subject, max(start_time)
    FROM spans, LATERAL (VALUES ('source', source), ('project', project)) AS d(scope, subject)
    WHERE event_date = CAST($now AS DATE) AND start_time >= CAST($min_start AS TIMESTAMP)
      AND start_time <= CAST($now AS TIMESTAMP) AND subject IS NOT NULL
    GROUP BY ALL
),
scoped AS (
    SELECT scope, subject, max(last_span) AS last_span FROM last_seen GROUP BY ALL
),
matched AS (
    SELECT r.rule_id, r.name AS subject, r.threshold, s.last_span
    FROM rules AS r LEFT JOIN scoped AS s ON s.scope = r.scope AND s.subject = r.name
    WHERE r.name <> ''
    UNION ALL
    SELECT r.rule_id, s.subject, r.threshold, s.last_span
    FROM rules AS r JOIN scoped AS s ON s.scope = r.scope
    WHERE r.name = ''
)
SELECT rule_id, subject, epoch(CAST($now AS TIMESTAMP) - last_span) / 60 AS value, threshold,
       NULL::DOUBLE AS baseline, NULL::BIGINT AS count,
       coalesce(epoch(CAST($now AS TIMESTAMP) - last_span) / 60 > threshold, true) AS firing
FROM matched
ORDER BY rule_id, subject;
