-- Screen: Overview, system health. Grain: one row per model with usage but no price
-- (price_status = 'unknown_model', cost NULL, never 0), whole lake. Rollup: filter_values.
SELECT
    coalesce(nullif(value, ''), '(no model name)') AS model,
    sum(spans) AS spans,
    sum(tokens) AS tokens,
    max(last_start) AS last_seen
FROM filter_values
WHERE dimension = 'unpriced_model'
GROUP BY value
ORDER BY spans DESC, model;
