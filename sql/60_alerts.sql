-- alert_history: every alert firing and resolution, and every rule change (who, when, what),
-- appended by lens_etl/alerts.py to data/alerts/*.parquet (grain: event_id).
-- alerts: the alerts firing now (grain: rule × subject): each key's newest evaluation event is a firing.
-- A scoped user (lens_scoped()) sees the alerts about their own developer id or team only, and no
-- rule changes: rules and alerts name people and their budgets.
CREATE OR REPLACE VIEW alert_history AS
SELECT * FROM {{alert_history}}
WHERE NOT lens_scoped() OR (event IN ('firing', 'resolved') AND lens_in_scope(subject, subject));

CREATE OR REPLACE VIEW alerts AS
SELECT rule_id, rule_type, severity, subject, value, threshold, baseline, message, link, event_at AS firing_since
FROM alert_history
WHERE event IN ('firing', 'resolved')
QUALIFY row_number() OVER (PARTITION BY alert_key ORDER BY event_at DESC, event DESC) = 1 AND event = 'firing'
ORDER BY severity = 'critical' DESC, firing_since DESC;
