-- Screen: Overview, system health. Grain: one row per model with usage but no price
-- (price_status = 'unknown_model', cost NULL, never 0), whole lake.
SELECT
    coalesce(model, '(no model name)') AS model,
    count(*) AS spans,
    coalesce(sum(tokens_in), 0) + coalesce(sum(tokens_out), 0) AS tokens,
    max(start_time) AS last_seen
FROM spans
WHERE price_status = 'unknown_model'
GROUP BY model
ORDER BY spans DESC, model;
