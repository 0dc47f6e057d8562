-- Screen: Overview, system health. Grain: one row for the whole lake (filters do not apply).
-- lag = now (UTC) - newest span start; last_ingest_age_s = now - when the last run finished.
-- Rollup: filter_values (the lake's bounds per day).
WITH last_run AS (
    SELECT * FROM ingest_runs ORDER BY coalesce(finished_at, started_at) DESC LIMIT 1
),
newest AS (
    SELECT max(last_start) AS newest_span, max(last_ingested) AS last_loaded, coalesce(sum(spans), 0) AS spans
    FROM filter_values
    WHERE dimension = '(all)'
)
SELECT
    (SELECT coalesce(finished_at, started_at) FROM last_run) AS last_ingest_at,
    (SELECT epoch(CAST(now() AS TIMESTAMP) - coalesce(finished_at, started_at)) FROM last_run) AS last_ingest_age_s,
    (SELECT status FROM last_run) AS last_ingest_status,
    (SELECT error FROM last_run) AS last_ingest_error,
    (SELECT written FROM last_run) AS last_ingest_written,
    (SELECT count(*) FROM ingest_runs) AS ingest_runs,
    (SELECT count(*) FROM ingest_runs WHERE status NOT IN ('ok', 'running')) AS failed_runs,
    newest.newest_span,
    epoch(CAST(now() AS TIMESTAMP) - newest.newest_span) AS lag_s,
    newest.spans,
    (SELECT count(*) FROM dead_letters) AS dead_letters
FROM newest;
