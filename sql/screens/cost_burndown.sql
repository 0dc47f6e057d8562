-- cost_burndown: one row per day of $as_of's month for one budget: $budget_scope, $budget_name and its
-- monthly amount $budget_monthly_usd. Screen: Cost (burn-down). spent_usd is cumulative actual spend up to $as_of;
-- projected_usd continues it at the 7-day run-rate to the month's end; budget_usd is the line
-- to stay under. Same scope rules as cost_budget_status.
WITH budget AS (
    SELECT CAST($budget_monthly_usd AS DOUBLE) AS monthly_usd
),
month AS (
    SELECT CAST($as_of AS DATE) AS as_of, CAST(date_trunc('month', CAST($as_of AS DATE)) AS DATE) AS month_start,
           last_day(CAST($as_of AS DATE)) AS month_end
),
daily AS (
    SELECT event_date AS day, sum(cost_usd) AS cost_usd
    FROM filtered_metrics(lens_month_and_week_start($as_of), CAST($as_of AS DATE) + 1, [], [], [], [], [])
    WHERE $budget_scope = 'total'
       OR ($budget_scope = 'team' AND team = $budget_name)
       OR ($budget_scope = 'developer' AND developer_id = $budget_name)
    GROUP BY 1
),
days AS (
    SELECT CAST(d AS DATE) AS day, m.*
    FROM month AS m, range(CAST(m.month_start AS TIMESTAMP), CAST(m.month_end + 1 AS TIMESTAMP), INTERVAL 1 DAY) AS r(d)
),
run AS (
    SELECT coalesce(sum(cost_usd), 0) / 7 AS run_rate_usd FROM daily, month WHERE day > as_of - 7
),
cumulative AS (
    SELECT days.*, sum(coalesce(daily.cost_usd, 0)) OVER (ORDER BY days.day) AS spent_to_date
    FROM days
    LEFT JOIN daily USING (day)
)
SELECT
    c.day,
    CASE WHEN c.day <= c.as_of THEN c.spent_to_date END AS spent_usd,
    CASE WHEN c.day >= c.as_of
         THEN max(c.spent_to_date) FILTER (WHERE c.day = c.as_of) OVER () + run.run_rate_usd * date_diff('day', c.as_of, c.day) END AS projected_usd,
    budget.monthly_usd AS budget_usd
FROM cumulative AS c, run, budget
ORDER BY c.day;
