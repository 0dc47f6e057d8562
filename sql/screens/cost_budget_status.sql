-- cost_budget_status: one row per budget for the month of $as_of (from cost_kpis). Screen: Cost (budgets).
-- Budgets (data/state/budgets.parquet) are bound as parallel lists $budget_scopes, $budget_names,
-- $budget_usd; in the CLI use (SELECT list(scope) FROM 'data/state/budgets.parquet') and so on.
-- A budget counts all spend in its scope (total; team = name; developer = name), not narrowed by
-- the sidebar filters. projected = month-to-date + 7-day run-rate * days left;
-- status: over (month-to-date > budget), at risk (projected > budget), on track.
WITH budgets AS (
    SELECT unnest($budget_scopes) AS scope, unnest($budget_names) AS name, unnest($budget_usd) AS monthly_usd
),
month AS (
    SELECT CAST($as_of AS DATE) AS as_of, CAST(date_trunc('month', CAST($as_of AS DATE)) AS DATE) AS month_start,
           last_day(CAST($as_of AS DATE)) AS month_end
),
daily AS (
    SELECT event_date, developer_id, team, sum(cost_usd) AS cost_usd
    FROM filtered_metrics(lens_month_and_week_start($as_of), CAST($as_of AS DATE) + 1, [], [], [], [], [])
    GROUP BY ALL
),
spend AS (
    SELECT
        b.scope, b.name, b.monthly_usd, m.as_of, m.month_start, m.month_end,
        coalesce(sum(d.cost_usd) FILTER (WHERE d.event_date >= m.month_start), 0) AS mtd_usd,
        coalesce(sum(d.cost_usd) FILTER (WHERE d.event_date > m.as_of - 7), 0) / 7 AS run_rate_usd
    FROM budgets AS b
    CROSS JOIN month AS m
    LEFT JOIN daily AS d
        ON b.scope = 'total'
        OR (b.scope = 'team' AND d.team = b.name)
        OR (b.scope = 'developer' AND d.developer_id = b.name)
    GROUP BY ALL
)
SELECT
    scope,
    name,
    CASE WHEN mtd_usd > monthly_usd THEN 'over'
         WHEN mtd_usd + run_rate_usd * date_diff('day', as_of, month_end) > monthly_usd THEN 'at risk'
         ELSE 'on track' END AS status,
    monthly_usd,
    mtd_usd,
    mtd_usd / monthly_usd AS used_share,
    mtd_usd + run_rate_usd * date_diff('day', as_of, month_end) AS projected_usd,
    monthly_usd * (date_diff('day', month_start, as_of) + 1) / (date_diff('day', month_start, month_end) + 1) AS expected_by_now_usd,
    run_rate_usd
FROM spend
ORDER BY CASE scope WHEN 'total' THEN 0 WHEN 'team' THEN 1 ELSE 2 END, name;
