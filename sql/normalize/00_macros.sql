-- Helpers shared by the normalizer queries. Applied once per ingest connection.

-- Junk identifiers seen in real LiteLLM metadata: treat them as missing. `default_user_id` is the
-- LiteLLM proxy's name for its master key: set as user.id on every request made with it, it names no one.
CREATE OR REPLACE MACRO lens_clean_id(x) AS
    CASE WHEN x IS NULL OR lower(trim(x)) IN ('', 'id', 'null', 'none', 'unknown', 'undefined', 'nan', 'n/a', 'anonymous',
                                              'default_user_id')
         THEN NULL ELSE trim(x) END;

-- Any timestamp an export writes: epoch s / ms / us / ns (number or numeric text),
-- ISO 8601 with T or space, with or without an offset (no offset means UTC). Result: naive UTC.
CREATE OR REPLACE MACRO lens_epoch(n) AS
    try(make_timestamp(TRY_CAST(
        CASE WHEN abs(n) >= 1e17 THEN n / 1000
             WHEN abs(n) >= 1e14 THEN n
             WHEN abs(n) >= 1e11 THEN n * 1000
             ELSE n * 1000000 END AS BIGINT)));
-- lens_ts_of(x, n): the same with n = TRY_CAST(x AS DOUBLE) computed once by the caller (a macro
-- repeats its argument's expression wherever it is used: lens_epoch reads n seven times).
CREATE OR REPLACE MACRO lens_ts_of(x, n) AS
    CASE WHEN n IS NOT NULL THEN lens_epoch(n)
         WHEN x IS NULL OR trim(x) = '' THEN NULL
         ELSE try(CAST(timezone('UTC', TRY_CAST(trim(x) AS TIMESTAMPTZ)) AS TIMESTAMP)) END;
CREATE OR REPLACE MACRO lens_ts(x) AS lens_ts_of(x, TRY_CAST(x AS DOUBLE));
CREATE OR REPLACE MACRO lens_ts_ok(ts) AS ts BETWEEN TIMESTAMP '1990-01-01' AND TIMESTAMP '2200-01-01';

-- Numbers arrive as ints, floats (1500.0) or text; NaN means absent. Counts and costs must be
-- finite and non-negative, and fit a BIGINT; anything else is a wrong type.
CREATE OR REPLACE MACRO lens_num(x) AS
    CASE WHEN lower(trim(x)) IN ('nan', 'null', '') THEN NULL ELSE TRY_CAST(x AS DOUBLE) END;
CREATE OR REPLACE MACRO lens_bad_num(x) AS
    x IS NOT NULL AND lower(trim(x)) NOT IN ('nan', 'null', '')
    AND coalesce(NOT isfinite(TRY_CAST(x AS DOUBLE)) OR TRY_CAST(x AS DOUBLE) < 0 OR TRY_CAST(x AS DOUBLE) >= 9e18, true);

-- Dated aliases, LiteLLM route prefixes (bedrock/converse/…) and Bedrock's regional ids (us., global.)
-- collapse to one model name; the raw name stays in metadata.
CREATE OR REPLACE MACRO lens_model(x) AS
    nullif(regexp_replace(regexp_replace(regexp_replace(lower(trim(x)),
        '^((anthropic|openai|google|gemini|vertex_ai|vertex_ai_beta|bedrock|bedrock_converse|converse|invoke|azure|azure_ai|litellm_proxy|openrouter)/)+', ''),
        '^([a-z]{2,4}(-gov)?\.|global\.)?anthropic\.', ''),
        '([-@]\d{8}|-\d{4}-\d{2}-\d{2})(-v\d+(:\d+)?)?$', ''), '');
CREATE OR REPLACE MACRO lens_provider(provider, model) AS
    coalesce(nullif(lower(trim(provider)), ''),
        CASE WHEN model LIKE 'claude%' THEN 'anthropic'
             WHEN model LIKE 'gpt%' OR regexp_matches(model, '^o[0-9]') THEN 'openai'
             WHEN model LIKE 'gemini%' THEN 'google'
             WHEN model LIKE 'mistral%' OR model LIKE 'codestral%' THEN 'mistral' END);

CREATE OR REPLACE MACRO lens_status(x) AS
    CASE WHEN x IS NULL THEN 'UNSET'
         WHEN upper(x) IN ('ERROR', 'STATUS_CODE_ERROR', '2') THEN 'ERROR'
         WHEN upper(x) IN ('OK', 'STATUS_CODE_OK', '1') THEN 'OK'
         ELSE 'UNSET' END;

-- A text's lines: none for an empty text, and a final newline ends the last line (it opens no new one).
CREATE OR REPLACE MACRO lens_lines(x) AS
    CASE WHEN x IS NULL OR x = '' THEN [] ELSE string_split(regexp_replace(x, '\r?\n$', ''), chr(10)) END;
-- How many lines two texts share, each line as often as both hold it (list_intersect keeps one of each).
CREATE OR REPLACE MACRO lens_common_lines(a, b) AS
    coalesce(list_sum(list_transform(list_distinct(a),
        line -> least(len(list_filter(a, x -> x = line)), len(list_filter(b, x -> x = line))))), 0);

-- A message list as Phoenix's span dataframe keeps it ([{"message.role", "message.content", …}]),
-- its content left out (kept as a bounded preview), every other message field kept.
CREATE OR REPLACE MACRO lens_is_list(x) AS CASE WHEN json_valid(x) THEN json_type(x) = 'ARRAY' ELSE false END;
CREATE OR REPLACE MACRO lens_messages_without_content(x) AS
    to_json(list_transform(CAST(x AS JSON[]), m -> CASE WHEN json_type(m) = 'OBJECT'
        THEN json_merge_patch(m, '{"message.content": null, "message.contents": null}') ELSE m END));
CREATE OR REPLACE MACRO lens_first_content(x) AS
    CASE WHEN lens_is_list(x) THEN nullif(x ->> '$[0]."message.content"', '') END;

-- A merge patch deleting every message's content (llm.input_messages.N.message.content, …contents…)
-- wherever a record holds it, flat (`attributes.llm…`) or inside `attributes`: conversations run to
-- hundreds of messages, beyond the fixed patch's first ones, and content belongs in the previews.
-- So does the raw request LiteLLM copies onto raw_gen_ai_request spans as llm.<provider>.messages and
-- llm.<provider>.system (megabytes, the conversation again).
-- (Messages are numbered from 0: a record past the fixed patch's 16 has a message 16. Most have none.)
CREATE OR REPLACE MACRO lens_has_message_keys(d) AS
    contains(d, '_messages.16.') OR contains(d, '.message.contents') OR contains(d, '.messages"') OR contains(d, '.system"');
CREATE OR REPLACE MACRO lens_message_keys(d) AS
    regexp_extract_all(d, '"((?:attributes\.)?llm\.(?:(?:input|output)_messages\.[0-9]+\.message\.contents?[^"]*|[a-z0-9_]+\.(?:messages|system)))"\s*:', 1);
CREATE OR REPLACE MACRO lens_null_members(keys) AS
    nullif(array_to_string(list_transform(keys, k -> CAST(to_json(k) AS VARCHAR) || ':null'), ','), '');
-- lens_message_patch(keys): the caller passes the keys computed once (a macro repeats its argument).
CREATE OR REPLACE MACRO lens_message_patch(keys) AS
    '{' || concat_ws(',', lens_null_members(list_filter(keys, k -> starts_with(k, 'attributes.'))),
                     '"attributes":{' || lens_null_members(list_filter(keys, k -> NOT starts_with(k, 'attributes.'))) || '}') || '}';
