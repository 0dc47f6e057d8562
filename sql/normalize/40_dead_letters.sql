-- Records that cannot become a span, with where they came from, why, and the raw text
-- (read back from the batch `raw`, which holds it once), secrets and PII redacted.
-- Records may share a line (the spans of one OTLP request, or a reader's repeated number): the
-- raw side is keyed by file, line and the record's hash, one row per key, so each rejected record
-- gets exactly one dead letter with its own text.
WITH rejected AS (
    SELECT * FROM parsed WHERE reject_reason IS NOT NULL
),
texts AS (
    -- a JSON Lines record arrives with its line ending; the dead letter keeps the line without it
    SELECT source_file, line, hash(doc) AS doc_hash, rtrim(any_value(doc), chr(13) || chr(10)) AS doc
    FROM raw SEMI JOIN (SELECT DISTINCT source_file, line FROM rejected) AS k USING (source_file, line)
    GROUP BY source_file, line, hash(doc)
)
SELECT
    $run_id AS run_id,
    p.source_file,
    p.line,
    p.reject_reason AS reason,
    lens_redact_all(r.doc) AS raw,
    CAST($ingested_at AS TIMESTAMP) AS recorded_at,
    r.doc IS DISTINCT FROM lens_redact_all(r.doc) AS _redacted  -- for the run's count, dropped before writing
FROM rejected AS p
LEFT JOIN texts AS r USING (source_file, line, doc_hash)
ORDER BY p.source_file, p.line
