-- Rollup: one row per (developer, team, service, repo, model, error type) of one day's failed model
-- calls (LLM spans in ERROR, not LiteLLM's raw copies, with a model). The type is the exception
-- class named in the message (e.g. RateLimitError), else the message's first 60 characters.
-- Rebuilt for every partition an ingest touches.
SELECT
    developer_id,
    team,
    service_name,
    repo_slug,
    model,
    coalesce(nullif(regexp_extract(error_message, '([A-Za-z_]*(Error|Exception|Timeout))', 1), ''),
             left(coalesce(error_message, '(no message)'), 60)) AS error_type,
    count(*) AS errors,
    any_value(left(error_message, 300)) AS example_message,
    max(start_time) AS last_seen
FROM spans
WHERE span_kind = 'LLM' AND name IS DISTINCT FROM 'raw_gen_ai_request' AND is_error AND model IS NOT NULL
GROUP BY ALL
