-- Screen: all (sidebar filters). Grain: one row for the whole lake, unfiltered.
-- The time span of the data: presets and the default range end at the newest span.
SELECT
    min(start_time) AS first_span,
    max(start_time) AS newest_span,
    count(*) AS spans
FROM spans;
