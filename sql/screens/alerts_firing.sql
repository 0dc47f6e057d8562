-- alerts_firing: the alerts firing now (grain: rule × subject), from the `alerts` view; sidebar
-- filters do not apply. Screen: Live (alerts).
SELECT severity, rule_id, subject, message, value, threshold, baseline, firing_since, link
FROM alerts
ORDER BY severity = 'critical' DESC, firing_since DESC
LIMIT 200;
