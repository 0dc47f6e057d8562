-- alerts: cost_budget and cost_run_rate rules (grain: rule × subject). Spend from daily_metrics and hourly_metrics in
-- each rule's calendar period (day, week or month up to $now). `spent` compares the spend so far;
-- `projected` adds the mean daily spend of the 7 days up to $now × the days left in the period.
-- The threshold is the rule's, else the subject's monthly budget × $budget_shares (its share of a month).
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($scopes) AS scope, unnest($names) AS name,
           unnest($kinds) AS kind, CAST(unnest($thresholds) AS DOUBLE) AS threshold,
           CAST(unnest($budget_shares) AS DOUBLE) AS budget_share,
           CAST(unnest($period_starts) AS TIMESTAMP) AS period_start,
           CAST(unnest($period_ends) AS TIMESTAMP) AS period_end
),
budgets AS (
    SELECT unnest($budget_scopes) AS scope, unnest($budget_names) AS name, CAST(unnest($budget_usd) AS DOUBLE) AS monthly_usd
),
hours AS (
    -- Whole days from daily_metrics; by the hour from hourly_metrics only the day the run-rate
    -- window starts in (it starts at $now - 7 days; $min_start is that or an earlier midnight, a
    -- period's start) and $now's own day (a span after $now does not count).
    SELECT CAST(event_date AS TIMESTAMP) AS hour, developer_id, team, model, sum(cost_usd) AS cost_usd
    FROM daily_metrics
    WHERE event_date >= CAST($min_start AS DATE) AND event_date < CAST($now AS DATE)
      AND event_date <> CAST(CAST($now AS TIMESTAMP) - INTERVAL 7 DAY AS DATE)
    GROUP BY ALL
    UNION ALL
    SELECT hour, developer_id, team, model, sum(cost_usd) AS cost_usd
    FROM hourly_metrics
    WHERE event_date IN (CAST(CAST($now AS TIMESTAMP) - INTERVAL 7 DAY AS DATE), CAST($now AS DATE))
      AND hour >= CAST($min_start AS TIMESTAMP) AND hour < CAST($now AS TIMESTAMP)
    GROUP BY ALL
),
unpivoted AS (  -- each row once per scope (cheaper than GROUPING SETS here)
    SELECT hour, cost_usd, unnest(['developer', 'team', 'model', 'total']) AS scope,
           unnest([developer_id, team, model, 'all']) AS subject
    FROM hours
),
scoped AS (
    SELECT hour, scope, coalesce(subject, '(none)') AS subject, sum(cost_usd) AS cost_usd
    FROM unpivoted
    WHERE scope IN (SELECT scope FROM rules)
    GROUP BY ALL
),
per_subject AS (
    SELECT r.rule_id, s.subject, any_value(r.kind) AS kind, any_value(r.scope) AS scope,
           any_value(r.threshold) AS threshold, any_value(r.budget_share) AS budget_share,
           any_value(r.period_end) AS period_end,
           coalesce(sum(s.cost_usd) FILTER (WHERE s.hour >= r.period_start), 0) AS spent,
           coalesce(sum(s.cost_usd) FILTER (WHERE s.hour >= CAST($now AS TIMESTAMP) - INTERVAL 7 DAY), 0) / 7 AS daily_rate
    FROM rules AS r
    JOIN scoped AS s ON s.scope = r.scope AND (r.name = '' OR s.subject = r.name)
     AND s.hour >= least(r.period_start, CAST($now AS TIMESTAMP) - INTERVAL 7 DAY)
    GROUP BY r.rule_id, s.subject
),
valued AS (
    SELECT p.rule_id, p.subject,
           CASE p.kind WHEN 'projected'
                THEN p.spent + p.daily_rate * epoch(p.period_end - CAST($now AS TIMESTAMP)) / 86400
                ELSE p.spent END AS value,
           coalesce(p.threshold, b.monthly_usd * p.budget_share) AS threshold,
           CASE p.kind WHEN 'projected' THEN p.daily_rate END AS baseline,
           NULL::BIGINT AS count
    FROM per_subject AS p
    LEFT JOIN budgets AS b ON b.scope = p.scope AND b.name = p.subject
)
SELECT *, coalesce(value > threshold, false) AS firing
FROM valued
ORDER BY rule_id, subject;
