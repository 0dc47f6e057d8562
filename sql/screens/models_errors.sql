-- Screen: Models, error types. Grain: one row per (model, error type); the type is the
-- exception class named in the message (e.g. RateLimitError), else the message's first 60 characters.
SELECT
    model,
    coalesce(nullif(regexp_extract(error_message, '([A-Za-z_]*(Error|Exception|Timeout))', 1), ''),
             left(coalesce(error_message, '(no message)'), 60)) AS error_type,
    count(*) AS errors,
    any_value(left(error_message, 300)) AS example_message,
    max(start_time) AS last_seen
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request' AND is_error AND model IS NOT NULL
GROUP BY ALL
ORDER BY errors DESC, model, error_type;
