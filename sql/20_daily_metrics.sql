-- hourly_metrics: the per-day rollup (sql/rollups/hourly_metrics.sql), one row per hour and
-- dimension set; daily_metrics: the same measures per day, without the tool
-- (sql/rollups/daily_metrics.sql). Additive measures only, so any roll-up of these views
-- equals the same sum over `spans` (tests/test_rollups.py proves it).
CREATE OR REPLACE VIEW hourly_metrics AS
SELECT * FROM {{hourly_metrics}}
WHERE lens_in_scope(developer_id, team);

CREATE OR REPLACE VIEW daily_metrics AS
SELECT * EXCLUDE (day) FROM {{daily_metrics}}
WHERE lens_in_scope(developer_id, team);
