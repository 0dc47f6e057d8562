-- Screen: Models, error types. Grain: one row per (model, error type); the type is the
-- exception class named in the message (e.g. RateLimitError), else the message's first 60 characters.
-- Rollup: error_types.
SELECT
    model,
    error_type,
    sum(errors) AS errors,
    any_value(example_message) AS example_message,
    max(last_seen) AS last_seen
FROM filtered_error_types($start, $end, $developers, $teams, $models, $services, $repos)
GROUP BY ALL
ORDER BY errors DESC, model, error_type;
