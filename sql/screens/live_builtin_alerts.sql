-- live_builtin_alerts: one row per built-in check, evaluated at $until (now, or the newest span
-- when the lake is quiet), over all data (sidebar filters do not apply). Screen: Live (alerts).
--   error rate: failed model calls / model calls (requests plus failed LLM calls, which carry no
--   usage) in the hour up to $until, firing above $max_error_rate;
--   developer budget: spend on $until's UTC day above the daily share of the developer's monthly
--   budget (monthly_usd / days in the month); budgets bound as lists $budget_scopes, $budget_names, $budget_usd.
WITH last_hour AS (
    SELECT count(*) AS calls, count(*) FILTER (WHERE is_error) AS errors
    FROM filtered_spans(CAST($until AS TIMESTAMP) - INTERVAL 1 HOUR, CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND,
                        [], [], [], [], [])
    WHERE is_request OR (span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request')
),
today AS (
    -- the day's whole hours from `hourly_metrics`, the hour of $until from its spans
    SELECT developer_id, sum(cost_usd) AS cost_usd
    FROM (
        SELECT developer_id, cost_usd
        FROM filtered_hourly(date_trunc('day', CAST($until AS TIMESTAMP)), date_trunc('hour', CAST($until AS TIMESTAMP)),
                             [], [], [], [], [])
        UNION ALL
        SELECT developer_id, cost_usd
        FROM filtered_spans(date_trunc('hour', CAST($until AS TIMESTAMP)), CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND,
                            [], [], [], [], [])
    )
    GROUP BY 1
),
budgets AS (
    SELECT name AS developer_id, monthly_usd,
           monthly_usd / day(last_day(CAST($until AS DATE))) AS daily_usd
    FROM (SELECT unnest($budget_scopes) AS scope, unnest($budget_names) AS name, unnest($budget_usd) AS monthly_usd)
    WHERE scope = 'developer'
)
SELECT
    'error rate' AS check_name,
    'all model calls, last hour' AS subject,
    errors / nullif(calls, 0) AS value,
    CAST($max_error_rate AS DOUBLE) AS threshold,
    coalesce(errors / nullif(calls, 0) > $max_error_rate, false) AS firing,
    format('{} of {} model calls failed in the hour up to {}', errors, calls, strftime(CAST($until AS TIMESTAMP), '%Y-%m-%d %H:%M')) AS detail
FROM last_hour
UNION ALL
SELECT
    'developer budget',
    b.developer_id,
    coalesce(t.cost_usd, 0),
    b.daily_usd,
    coalesce(t.cost_usd, 0) > b.daily_usd,
    format('spent ${:.2f} on {} (UTC) against a daily share of ${:.2f} of ${:.2f}/month',
           coalesce(t.cost_usd, 0), strftime(CAST($until AS DATE), '%Y-%m-%d'), b.daily_usd, b.monthly_usd)
FROM budgets AS b
LEFT JOIN today AS t USING (developer_id)
ORDER BY firing DESC, check_name, subject;
