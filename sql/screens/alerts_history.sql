-- alerts_history: the newest $limit alert events (grain: event): firings, resolutions and rule
-- changes with who made them. Screen: Live (alert history).
SELECT event_at, event, severity, rule_id, subject, message, actor, link
FROM alert_history
ORDER BY event_at DESC
LIMIT $limit;
