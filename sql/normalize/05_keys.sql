-- Each raw record's span id, its hash and day (NULL when it has none), in batch order: enough to
-- recognise a span the lake already holds before paying for its full normalization (Lake.known).
SELECT
    trim(coalesce(v['context.span_id'], v['context']['span_id'], v['span_id'], v['spanId'])) AS span_id,
    hash(span_id) AS span_hash,
    CAST(lens_ts(coalesce(v['start_time'], v['startTime'])) AS DATE) AS event_date
FROM (
    SELECT CASE WHEN problem IS NULL THEN try(from_json(doc,
        '{"context.span_id": "VARCHAR", "context": {"span_id": "VARCHAR"}, "span_id": "VARCHAR", "spanId": "VARCHAR",
          "start_time": "VARCHAR", "startTime": "VARCHAR"}')) END AS v
    FROM raw
)
