-- alerts: usage_anomaly rules (grain: rule × developer). A developer's usage (requests, tokens or
-- cost_usd) in the hour starting $slot against the same hour of the week in their previous
-- `weeks` weeks (seasonality by hour-of-week): robust z = (x - median) / max(1.4826 × MAD,
-- 10% of the median, mad_floor). Fires when z > threshold for a developer with usage in one of those hours.
WITH rules AS (
    SELECT unnest($rule_ids) AS rule_id, unnest($names) AS name, unnest($metrics) AS metric,
           CAST(unnest($thresholds) AS DOUBLE) AS threshold, CAST(unnest($weeks) AS INTEGER) AS weeks,
           CAST(unnest($mad_floors) AS DOUBLE) AS mad_floor
),
hours AS (
    SELECT hour, developer_id, sum(requests) AS requests, sum(tokens_in + tokens_out) AS tokens, sum(cost_usd) AS cost_usd
    FROM hourly_metrics
    WHERE event_date IN (SELECT unnest(CAST($slot_dates AS DATE[]))) AND hour >= CAST($min_start AS TIMESTAMP)
      AND hour <= CAST($slot AS TIMESTAMP) AND developer_id IS NOT NULL
      AND hour::TIME = CAST($slot AS TIMESTAMP)::TIME AND dayofweek(hour) = dayofweek(CAST($slot AS TIMESTAMP))
    GROUP BY ALL
),
slots AS (
    SELECT r.*, k, CAST($slot AS TIMESTAMP) - k * INTERVAL 7 DAY AS hour
    FROM rules AS r, range(0, 53) AS t(k)
    WHERE k <= r.weeks
),
veterans AS (  -- developers with usage in one of the baseline hours: a newcomer is not an anomaly
    SELECT DISTINCT developer_id FROM hours WHERE hour < CAST($slot AS TIMESTAMP)
),
grid AS (
    SELECT s.rule_id, s.k, s.metric, s.threshold, s.weeks, s.mad_floor, v.developer_id,
           coalesce(CASE s.metric WHEN 'tokens' THEN h.tokens WHEN 'cost_usd' THEN h.cost_usd ELSE h.requests END, 0) AS x
    FROM slots AS s
    JOIN veterans AS v ON s.name = '' OR v.developer_id = s.name
    LEFT JOIN hours AS h ON h.hour = s.hour AND h.developer_id = v.developer_id
),
stats AS (
    SELECT rule_id, developer_id, any_value(threshold) AS threshold, any_value(mad_floor) AS mad_floor,
           max(x) FILTER (WHERE k = 0) AS current, median(x) FILTER (WHERE k > 0) AS med,
           list(x) FILTER (WHERE k > 0) AS history
    FROM grid GROUP BY rule_id, developer_id
),
scored AS (
    SELECT *, list_median(list_transform(history, v -> abs(v - med))) AS mad FROM stats
)
SELECT rule_id, developer_id AS subject,
       (current - med) / greatest(1.4826 * mad, 0.1 * med, mad_floor) AS value,
       threshold, med AS baseline, CAST(round(current) AS BIGINT) AS count,
       coalesce((current - med) / greatest(1.4826 * mad, 0.1 * med, mad_floor) > threshold, false) AS firing
FROM scored
WHERE current > 0
ORDER BY rule_id, subject;
