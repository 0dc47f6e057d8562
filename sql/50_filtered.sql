-- The shared screen filters, as table macros so every screen and the DuckDB CLI apply them the same way.
-- Arguments: time window [start_ts, end_ts) and lists of allowed values; an empty list allows all.
-- Example (CLI): SELECT sum(cost_usd) FROM filtered_spans(TIMESTAMP '2026-11-01', TIMESTAMP '2026-12-01', [], [], [], [], []);
CREATE OR REPLACE MACRO lens_allowed(allowed, value) AS len(allowed) = 0 OR list_contains(allowed, value);

CREATE OR REPLACE MACRO filtered_spans(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM spans
WHERE start_time >= start_ts AND start_time < end_ts
  AND event_date BETWEEN CAST(start_ts AS DATE) AND CAST(end_ts AS DATE)
  AND lens_allowed(developers, developer_id)
  AND lens_allowed(teams, team)
  AND lens_allowed(models, model)
  AND lens_allowed(services, service_name)
  AND lens_allowed(repos, repo_slug);

CREATE OR REPLACE MACRO filtered_daily(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM daily_metrics
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_allowed(developers, developer_id)
  AND lens_allowed(teams, team)
  AND lens_allowed(models, model)
  AND lens_allowed(services, service_name)
  AND lens_allowed(repos, repo_slug);
