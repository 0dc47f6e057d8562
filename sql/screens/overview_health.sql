-- Screen: Overview, system health. Grain: one row for the whole lake (filters do not apply).
-- lag = now (UTC) - newest span start; last_ingest_age_s = now - when the last run finished.
-- Rollup: filter_values (the lake's bounds per day). One pass over each source: a scalar subquery
-- apiece costs more to plan than the whole lake's rollup takes to read.
WITH runs AS (
    SELECT
        arg_max({'at': coalesce(finished_at, started_at), 'status': status, 'error': error, 'written': written},
                coalesce(finished_at, started_at)) AS last_run,
        count(*) AS ingest_runs,
        count(*) FILTER (WHERE status NOT IN ('ok', 'running')) AS failed_runs
    FROM ingest_runs
),
newest AS (
    SELECT max(last_start) AS newest_span, coalesce(sum(spans), 0) AS spans
    FROM filter_values
    WHERE dimension = '(all)'
),
rejected AS (
    SELECT count(*) AS dead_letters FROM dead_letters
)
SELECT
    last_run.at AS last_ingest_at,
    epoch(CAST(now() AS TIMESTAMP) - last_run.at) AS last_ingest_age_s,
    last_run.status AS last_ingest_status,
    last_run.error AS last_ingest_error,
    last_run.written AS last_ingest_written,
    ingest_runs,
    failed_runs,
    newest_span,
    epoch(CAST(now() AS TIMESTAMP) - newest_span) AS lag_s,
    spans,
    dead_letters
FROM newest, runs, rejected;
