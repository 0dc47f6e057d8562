-- Audit page KPIs: events per action over the last $days days (admins only; see pages/audit.py).
SELECT action, count(*) AS events
FROM audit_log
WHERE occurred_at >= CAST(now() AS TIMESTAMP) - to_days(CAST($days AS INTEGER))
GROUP BY action
ORDER BY action;
