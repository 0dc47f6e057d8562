-- Raw records (table `raw`: source_file, line, doc, problem) -> one row of raw text fields each.
-- The record_fields placeholder below is filled in from lens_etl/fields.py: one coalesce over the JSON paths
-- where each field lives in the flat, nested and OTLP layouts, read with a single parse.
CREATE OR REPLACE TEMP TABLE fields AS
WITH checked AS (
    SELECT
        source_file, line, doc,
        CASE
            WHEN problem IS NOT NULL THEN problem
            WHEN doc IS NULL OR trim(doc) = '' THEN 'malformed JSON: empty record'
            WHEN strlen(doc) > $max_record_bytes THEN 'record too large: ' || strlen(doc) || ' bytes'
            WHEN NOT json_valid(doc) THEN 'malformed JSON'
            WHEN json_type(doc) <> 'OBJECT' THEN 'not a JSON object: ' || lower(json_type(doc))
        END AS json_problem
    FROM raw
),
extracted AS (
    SELECT *, CASE WHEN json_problem IS NULL THEN json_extract_string(doc, $paths) END AS v
    FROM checked
),
entries AS (
    -- Every attribute (flat `attributes.x` or nested `attributes` -> x) and every other
    -- top-level key, for the `metadata` column: nothing is dropped but bulky content.
    SELECT *,
        CASE WHEN json_problem IS NULL THEN list_concat(
            CASE WHEN json_type(doc, '$.attributes') = 'OBJECT'
                 THEN list_transform(map_entries(CAST(json_extract(doc, '$.attributes') AS MAP(VARCHAR, JSON))),
                                     e -> {'key': e.key, 'value': e.value})
                 ELSE CAST([] AS STRUCT(key VARCHAR, value JSON)[]) END,
            list_transform(map_entries(CAST(CAST(doc AS JSON) AS MAP(VARCHAR, JSON))),
                           e -> {'key': CASE WHEN starts_with(e.key, 'attributes.') THEN substr(e.key, 12) ELSE e.key END,
                                 'value': e.value})
        ) END AS kv
    FROM extracted
)
SELECT
    source_file, line, doc, json_problem,
    {record_fields},
    CASE WHEN json_problem IS NULL THEN
        '{' || array_to_string(list_transform(
            list_filter(kv, e -> e.key NOT IN {core_keys}
                              AND NOT list_contains({content_keys}, split_part(e.key, '.', 1) || '.' || split_part(e.key, '.', 2))
                              AND CAST(e.value AS VARCHAR) NOT IN ('null', '[]', '{}', '""', 'NaN')),
            -- LiteLLM's metadata arrives as a JSON string: keep it as the object it is
            e -> to_json(e.key) || ':' || CASE WHEN json_type(e.value) = 'VARCHAR' AND json_valid(e.value ->> '$')
                                                    AND left(ltrim(e.value ->> '$'), 1) = '{'
                                               THEN e.value ->> '$' ELSE CAST(e.value AS VARCHAR) END), ',') || '}'
    END AS attributes_json
FROM entries;
