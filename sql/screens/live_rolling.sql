-- live_rolling: one row per 5-minute bucket of the $hours hours up to $until. Screen: Live (rolling
-- error rate and latency). Model calls are requests plus failed LLM calls (which carry no usage,
-- so they are not requests); error_rate = failed calls / model calls; p95 is the successful
-- requests' latency. Buckets without calls have NULL rates, not 0.
WITH calls AS (
    SELECT time_bucket(INTERVAL 5 MINUTE, start_time) AS bucket, is_error, CASE WHEN is_request THEN latency_ms END AS latency_ms
    FROM filtered_spans(CAST($until AS TIMESTAMP) - to_hours(CAST($hours AS BIGINT)),
                        CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND, $developers, $teams, $models, $services, $repos)
    WHERE is_request OR (span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request')
),
buckets AS (
    SELECT b AS bucket
    FROM range(time_bucket(INTERVAL 5 MINUTE, CAST($until AS TIMESTAMP) - to_hours(CAST($hours AS BIGINT))),
               CAST($until AS TIMESTAMP) + INTERVAL 1 MICROSECOND, INTERVAL 5 MINUTE) AS r(b)
)
SELECT
    bucket,
    count(c.bucket) AS calls,
    count(c.bucket) FILTER (WHERE c.is_error) AS errors,
    count(c.bucket) FILTER (WHERE c.is_error) / nullif(count(c.bucket), 0) AS error_rate,
    quantile_cont(c.latency_ms, 0.95) AS p95_latency_ms
FROM buckets
LEFT JOIN calls AS c USING (bucket)
GROUP BY bucket
ORDER BY bucket;
