-- Rollup: one row per (developer, team, dimension, value) that occurs in one day's spans, for the
-- sidebar filters and the data's bounds; dimension '(all)' (value NULL) is the whole day. Also the
-- unpriced models (dimension 'unpriced_model', value the model or NULL) with their tokens; the
-- sources and projects with their newest span (the source_silent alert). The developer and team
-- are there for a developer's own session, which sees only its own values (its readers add them up).
-- Rebuilt for every partition an ingest touches.
SELECT
    developer_id,
    team,
    dimension,
    value,
    count(*) AS spans,
    coalesce(sum(tokens_total), 0) AS tokens,
    min(start_time) AS first_start,
    max(start_time) AS last_start,
    max(ingested_at) AS last_ingested
FROM spans,
LATERAL (VALUES
    ('(all)', NULL),
    ('developers', developer_id),
    ('teams', team),
    ('models', model),
    ('services', service_name),
    ('repos', repo_slug),
    ('sources', source),
    ('projects', project),
    ('unpriced_model', CASE WHEN price_status = 'unknown_model' THEN coalesce(model, '') END)
) AS d(dimension, value)
WHERE dimension = '(all)' OR value IS NOT NULL
GROUP BY ALL
