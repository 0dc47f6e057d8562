-- Screen: all (sidebar filters, model colours). Grain: one row per (dimension, value), whole lake.
-- The values a filter may take: only values that occur in the data can be chosen.
SELECT 'developers' AS dimension, developer_id AS value FROM spans WHERE developer_id IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'teams', team FROM spans WHERE team IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'models', model FROM spans WHERE model IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'services', service_name FROM spans WHERE service_name IS NOT NULL GROUP BY ALL
UNION ALL
SELECT 'repos', repo_slug FROM spans WHERE repo_slug IS NOT NULL GROUP BY ALL
ORDER BY dimension, value;
