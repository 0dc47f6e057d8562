-- live_alerts_view: one row, whether the database has an `alerts` view (added by the alerting
-- issue). Screen: Live (alerts).
SELECT count(*) > 0 AS present FROM duckdb_views() WHERE view_name = 'alerts' AND NOT internal;
