-- Raw records (table `raw`: source_file, line, doc, problem) -> one row of raw text fields each.
-- Each record is parsed once, into the struct $structure built in lens_etl/fields.py from the
-- OpenInference attribute names; the record_fields placeholder below coalesces, per field,
-- the places it lives in the flat, nested and OTLP layouts. A view (its $values are filled in as
-- literals): `parsed` is the one table a batch's rows are copied into.
CREATE OR REPLACE TEMP VIEW fields AS
WITH parsed AS (
    -- try(): a malformed record parses to NULL instead of failing the batch
    SELECT *, CASE WHEN problem IS NULL AND strlen(doc) <= $max_record_bytes THEN try(from_json(doc, $structure)) END AS v
    FROM raw
),
checked AS (
    SELECT *,
        CASE
            WHEN problem IS NOT NULL THEN problem
            WHEN doc IS NULL THEN 'malformed JSON: empty record'
            WHEN strlen(doc) > $max_record_bytes THEN 'record too large: ' || strlen(doc) || ' bytes'
            WHEN v IS NULL THEN 'malformed JSON'
            WHEN NOT (starts_with(doc, '{') OR regexp_matches(doc, '^\s*\{')) THEN 'not a JSON object: ' || lower(json_type(doc))
        END AS json_problem
    FROM parsed
)
SELECT
    source_file, line, json_problem,
    {record_fields},
    -- Every attribute and every other key stays in `metadata`; only bulky content goes
    -- (it is kept as bounded previews). Most records hold no message content: the shorter patch.
    CASE WHEN json_problem IS NULL THEN CAST(
        CASE WHEN contains(doc, $message_marker) THEN json_merge_patch(doc, $content_patch)
             ELSE json_merge_patch(doc, $value_patch) END AS VARCHAR) END AS attributes_json
FROM checked;
