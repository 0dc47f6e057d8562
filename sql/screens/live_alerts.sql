-- live_alerts: the rows of the `alerts` view, checked at $now (UTC). Screen: Live (alerts).
-- Only run when live_alerts_view says the view exists.
SELECT *, CAST($now AS TIMESTAMP) AS checked_at FROM alerts LIMIT 200;
