-- cost_trend: one row per day from the window's start to the end of as_of's month. Screen: Cost.
-- cost_usd is the actual spend (days up to $as_of); projected_usd and its low/high band are the
-- run-rate from cost_kpis ($run_rate_usd, $run_rate_low_usd, $run_rate_high_usd) for the days
-- after $as_of (and at $as_of, so the dashed line joins the actual one).
WITH daily AS (
    SELECT event_date AS day, sum(cost_usd) AS cost_usd, sum(requests) AS requests
    FROM filtered_metrics($start, least(CAST($end AS DATE), CAST($as_of AS DATE) + 1), $developers, $teams, $models, $services, $repos)
    GROUP BY 1
),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST(least(CAST($start AS DATE), CAST($as_of AS DATE)) AS TIMESTAMP),
               CAST(last_day(CAST($as_of AS DATE)) + 1 AS TIMESTAMP), INTERVAL 1 DAY) AS r(d)
)
SELECT
    days.day,
    CASE WHEN days.day <= CAST($as_of AS DATE) THEN coalesce(daily.cost_usd, 0) END AS cost_usd,
    CASE WHEN days.day <= CAST($as_of AS DATE) THEN coalesce(daily.requests, 0) END AS requests,
    CASE WHEN days.day >= CAST($as_of AS DATE) THEN CAST($run_rate_usd AS DOUBLE) END AS projected_usd,
    CASE WHEN days.day >= CAST($as_of AS DATE) THEN CAST($run_rate_low_usd AS DOUBLE) END AS projected_low_usd,
    CASE WHEN days.day >= CAST($as_of AS DATE) THEN CAST($run_rate_high_usd AS DOUBLE) END AS projected_high_usd
FROM days
LEFT JOIN daily USING (day)
ORDER BY days.day;
