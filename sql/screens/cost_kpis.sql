-- cost_kpis: one row, the Cost screen's headline numbers. Screen: Cost.
-- as_of is the lake's last day with data inside the window (else the window's last day), so a
-- lake that stopped yesterday is not read as a day of zero spend. Month-to-date runs from the
-- first of as_of's month to as_of, whatever the window's start; the run-rate is the mean daily
-- spend of the 7 days ending at as_of (days without spend count as 0), and
--   projected_usd = mtd_usd + run_rate_usd * days_left.
-- Example (CLI): month-to-date = SELECT sum(cost_usd) FROM spans WHERE start_time >= month_start AND start_time < as_of + 1.
WITH clock AS (
    -- the days with data: `filter_values` has a row '(all)' per day with spans
    SELECT coalesce((SELECT max(event_date) FROM filter_values
                     WHERE dimension = '(all)' AND event_date >= CAST($start AS DATE) AND event_date < CAST($end AS DATE)),
                    CAST($end AS DATE) - 1) AS as_of
),
month AS (
    SELECT as_of, CAST(date_trunc('month', as_of) AS DATE) AS month_start, last_day(as_of) AS month_end FROM clock
),
daily AS (
    -- as_of lies in the window, so its month and week start no earlier than the window's start's
    SELECT event_date AS day, sum(cost_usd) AS cost_usd
    FROM filtered_metrics(lens_month_and_week_start($start), $end, $developers, $teams, $models, $services, $repos)
    WHERE event_date <= (SELECT as_of FROM month)
    GROUP BY 1
),
last7 AS (
    SELECT CAST(d AS DATE) AS day, coalesce(daily.cost_usd, 0) AS cost_usd
    FROM month, range(as_of - 6, as_of + 1, INTERVAL 1 DAY) AS r(d)
    LEFT JOIN daily ON daily.day = CAST(d AS DATE)
),
window_totals AS (
    SELECT coalesce(sum(cost_usd), 0) AS window_usd, coalesce(sum(requests), 0) AS window_requests,
           coalesce(sum(unpriced_spans), 0) AS unpriced_spans
    FROM filtered_metrics($start, $end, $developers, $teams, $models, $services, $repos)
),
rates AS (
    SELECT
        (SELECT coalesce(sum(cost_usd), 0) FROM daily, month WHERE day >= month_start) AS mtd_usd,
        sum(cost_usd) / 7 AS run_rate_usd,
        min(cost_usd) AS run_rate_low_usd,
        max(cost_usd) AS run_rate_high_usd
    FROM last7
)
SELECT
    m.as_of,
    m.month_start,
    m.month_end,
    date_diff('day', m.as_of, m.month_end) AS days_left,
    w.window_usd,
    w.window_requests,
    w.unpriced_spans,
    r.mtd_usd,
    r.run_rate_usd,
    r.run_rate_low_usd,
    r.run_rate_high_usd,
    r.mtd_usd + r.run_rate_usd * days_left AS projected_usd,
    r.mtd_usd + r.run_rate_low_usd * days_left AS projected_low_usd,
    r.mtd_usd + r.run_rate_high_usd * days_left AS projected_high_usd
FROM month AS m, window_totals AS w, rates AS r;
