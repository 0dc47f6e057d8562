-- Records that cannot become a span, with where they came from, why, and the raw text.
SELECT
    $run_id AS run_id,
    source_file,
    line,
    reject_reason AS reason,
    doc AS raw,
    CAST($ingested_at AS TIMESTAMP) AS recorded_at
FROM parsed
WHERE reject_reason IS NOT NULL
ORDER BY source_file, line
