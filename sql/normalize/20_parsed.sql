-- Raw fields (table `fields`, one row per input record) -> typed values and a reject reason.
-- A record with a reason becomes a dead letter; every other record becomes one span.
CREATE OR REPLACE TEMP TABLE parsed AS
WITH numeric_times AS (
    SELECT *, TRY_CAST(start_time_raw AS DOUBLE) AS start_num, TRY_CAST(end_time_raw AS DOUBLE) AS end_num
    FROM fields
),
typed AS (
    SELECT
        f.* EXCLUDE (start_num, end_num),
        lens_ts_of(start_time_raw, start_num) AS start_ts,
        lens_ts_of(end_time_raw, end_num) AS end_ts,
        -- LiteLLM's metadata (a JSON object or string), parsed once for the keys Lens reads
        CASE WHEN left(ltrim(metadata_raw), 1) = '{' THEN try(from_json(metadata_raw,
            '{"user_api_key_end_user_id": "VARCHAR", "repo": "VARCHAR", "repo_slug": "VARCHAR", "cwd": "VARCHAR",
              "service_name": "VARCHAR",
              "usage_object": {"cache_read_input_tokens": "VARCHAR", "cache_creation_input_tokens": "VARCHAR"}}')) END AS md,
        CASE WHEN name_raw LIKE 'Claude\_Code\_Tool\_%' ESCAPE '\' THEN substr(name_raw, 18) END AS tool_from_name
    FROM numeric_times AS f
)
SELECT
    t.*,
    lens_clean_id(coalesce(md.user_api_key_end_user_id, end_user_flat_raw)) AS end_user,
    CASE
        WHEN json_problem IS NOT NULL THEN json_problem
        WHEN span_id_raw IS NULL OR trim(span_id_raw) = '' THEN 'missing field: span id (context.span_id)'
        WHEN length(span_id_raw) > 256 OR span_id_raw[1] IN ('{', '[') THEN 'wrong type: span id is not an id'
        WHEN start_time_raw IS NULL THEN 'missing field: start_time'
        WHEN start_ts IS NULL OR NOT lens_ts_ok(start_ts) THEN 'unparseable time: start_time = ' || left(start_time_raw, 60)
        WHEN end_time_raw IS NOT NULL AND trim(end_time_raw) <> '' AND (end_ts IS NULL OR NOT lens_ts_ok(end_ts))
            THEN 'unparseable time: end_time = ' || left(end_time_raw, 60)
        WHEN end_ts < start_ts THEN 'bad time: end_time ' || left(end_time_raw, 60) || ' is before start_time ' || left(start_time_raw, 60)
        WHEN lens_bad_num(tokens_in_raw) THEN 'wrong type: llm.token_count.prompt = ' || left(tokens_in_raw, 60)
        WHEN lens_bad_num(tokens_out_raw) THEN 'wrong type: llm.token_count.completion = ' || left(tokens_out_raw, 60)
        WHEN lens_bad_num(cache_read_raw) THEN 'wrong type: cache read tokens = ' || left(cache_read_raw, 60)
        WHEN lens_bad_num(cache_write_raw) THEN 'wrong type: cache write tokens = ' || left(cache_write_raw, 60)
        WHEN lens_bad_num(cost_total_raw) THEN 'wrong type: llm.cost.total = ' || left(cost_total_raw, 60)
        WHEN lens_bad_num(cost_prompt_raw) THEN 'wrong type: llm.cost.prompt = ' || left(cost_prompt_raw, 60)
        WHEN lens_bad_num(cost_completion_raw) THEN 'wrong type: llm.cost.completion = ' || left(cost_completion_raw, 60)
    END AS reject_reason,
    -- a tracer's cost: its total, else its prompt and completion parts. Zero for tokens used is no
    -- price (LiteLLM reports 0 for a model it cannot price): the span is priced, or flagged, as if unreported.
    CASE WHEN reported <> 0 OR coalesce(lens_num(tokens_in_raw), 0) + coalesce(lens_num(tokens_out_raw), 0) = 0
         THEN reported END AS reported_cost
FROM (
    SELECT *, coalesce(lens_num(cost_total_raw), CASE WHEN lens_num(cost_prompt_raw) IS NOT NULL OR lens_num(cost_completion_raw) IS NOT NULL
        THEN coalesce(lens_num(cost_prompt_raw), 0) + coalesce(lens_num(cost_completion_raw), 0) END) AS reported
    FROM typed
) AS t;
