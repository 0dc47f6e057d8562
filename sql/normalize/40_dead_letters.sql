-- Records that cannot become a span, with where they came from, why, and the raw text
-- (read back from the batch `raw`, which holds it once), secrets and PII redacted.
SELECT
    $run_id AS run_id,
    p.source_file,
    p.line,
    p.reject_reason AS reason,
    lens_redact_all(r.doc) AS raw,
    CAST($ingested_at AS TIMESTAMP) AS recorded_at,
    r.doc IS DISTINCT FROM lens_redact_all(r.doc) AS _redacted  -- for the run's count, dropped before writing
FROM parsed AS p
-- a JSON Lines record arrives with its line ending; the dead letter keeps the line without it
JOIN (SELECT source_file, line, rtrim(doc, chr(13) || chr(10)) AS doc FROM raw) AS r
    ON r.source_file = p.source_file AND r.line = p.line
WHERE p.reject_reason IS NOT NULL
ORDER BY p.source_file, p.line
