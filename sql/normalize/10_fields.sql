-- Raw records (table `raw`: source_file, line, doc, problem) -> one row of raw text fields each.
-- Each record is parsed once, into the struct $structure built in lens_etl/fields.py from the
-- OpenInference attribute names; the record_fields placeholder below coalesces, per field,
-- the places it lives in the flat, nested and OTLP layouts. A view (its $values are filled in as
-- literals): `parsed` is the one table a batch's rows are copied into.
CREATE OR REPLACE TEMP VIEW fields AS
WITH parsed AS (
    -- try(): a malformed record parses to NULL instead of failing the batch
    -- parse_doc: the record with packed or key-by-key nested attributes made dotted keys (normalize.py)
    SELECT *, CASE WHEN problem IS NULL AND strlen(doc) <= $max_record_bytes THEN try(from_json(coalesce(parse_doc, doc), $structure)) END AS v
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
        END AS json_problem,
        CASE WHEN lens_has_message_keys(coalesce(parse_doc, doc)) THEN lens_message_keys(coalesce(parse_doc, doc)) END AS message_keys
    FROM parsed
),
patched AS (
    SELECT
        source_file, line, json_problem,
        hash(doc) AS doc_hash,  -- with the file and line, what pairs a dead letter with its raw text
        {record_fields},
        -- Every attribute and every other key stays in `metadata`; only bulky content goes (it is
        -- kept as bounded previews), and what the columns hold. Most records hold no message
        -- content: the shorter patch. A token total the columns give back (prompt + completion) goes,
        -- and null values: the record is merged onto an empty object.
        CASE WHEN json_problem IS NULL THEN CAST(json_merge_patch('{}', coalesce(parse_doc, doc),
            CASE WHEN contains(coalesce(parse_doc, doc), $message_marker) THEN $content_patch ELSE $value_patch END,
            CASE WHEN message_keys IS NOT NULL THEN lens_message_patch(message_keys) ELSE '{}' END,
            CASE WHEN tokens_total_raw IS NULL
                   OR TRY_CAST(tokens_total_raw AS DOUBLE) = coalesce(TRY_CAST(tokens_in_raw AS DOUBLE), 0)
                                                            + coalesce(TRY_CAST(tokens_out_raw AS DOUBLE), 0)
                 THEN $derived_patch ELSE '{}' END) AS VARCHAR) END AS patched_json
    FROM checked
)
-- Phoenix's span dataframe keeps each message list whole: its messages lose their content (kept
-- as bounded previews) as flattened messages do, and keep every other field.
SELECT * EXCLUDE (patched_json),
    CASE WHEN lens_is_list(input_messages_raw) OR lens_is_list(output_messages_raw) THEN CAST(json_merge_patch(patched_json,
        CASE WHEN lens_is_list(input_messages_raw)
             THEN json_object('attributes.llm.input_messages', lens_messages_without_content(input_messages_raw)) ELSE '{}' END,
        CASE WHEN lens_is_list(output_messages_raw)
             THEN json_object('attributes.llm.output_messages', lens_messages_without_content(output_messages_raw)) ELSE '{}' END)
        AS VARCHAR) ELSE patched_json END AS attributes_json
FROM patched;
