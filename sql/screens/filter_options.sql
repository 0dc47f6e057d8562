-- Screen: all (sidebar filters, model colours). Grain: one row per (dimension, value), whole lake.
-- The values a filter may take: only values that occur in the data can be chosen.
-- Rollup: filter_values.
SELECT dimension, value
FROM filter_values
WHERE dimension IN ('developers', 'teams', 'models', 'services', 'repos')
GROUP BY ALL
ORDER BY dimension, value;
