-- Screen: all (sidebar filters). Grain: one row for the whole lake, unfiltered.
-- The time span of the data: presets and the default range end at the newest span.
-- Rollup: filter_values (one '(all)' row per day).
SELECT
    min(first_start) AS first_span,
    max(last_start) AS newest_span,
    coalesce(sum(spans), 0) AS spans
FROM filter_values
WHERE dimension = '(all)';
