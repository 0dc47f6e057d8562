-- Typed records (table `parsed`) -> canonical spans. Tables joined: `identity`
-- (alias -> developer, team) and `rates` (per-token prices per model, price period and tier, from genai-prices).
-- Parameters: $run_id, $ingested_at, $source, $project, $preview_chars.
WITH ok AS (
    SELECT * FROM parsed WHERE reject_reason IS NULL
),
with_end_user AS (
    -- The end-user id is JSON {"device_id", "account_uuid", "session_id"} or the legacy
    -- user_<hash>_account_<uuid>_session_<uuid> string.
    SELECT ok.*,
        CASE WHEN left(end_user, 1) = '{'
             THEN try(from_json(end_user, '{"session_id": "VARCHAR", "account_uuid": "VARCHAR", "device_id": "VARCHAR"}')) END AS eu
    FROM ok
),
derived AS (
    SELECT
        ok.*,
        trim(span_id_raw) AS span_id,
        nullif(trim(trace_id_raw), '') AS trace_id,
        CASE WHEN tool_from_name IS NOT NULL THEN 'TOOL'
             ELSE upper(coalesce(nullif(span_kind_raw, ''), nullif(kind_attr_raw, ''), 'UNKNOWN')) END AS kind,
        lens_status(status_code_raw) AS status_norm,
        CASE WHEN eu IS NOT NULL THEN eu.session_id
             ELSE nullif(regexp_extract(end_user, '_session_([0-9A-Za-z\-]+)$', 1), '') END AS eu_session,
        CASE WHEN eu IS NOT NULL THEN eu.account_uuid
             ELSE nullif(regexp_extract(end_user, '_account_([0-9A-Za-z\-]+)_session_', 1), '') END AS eu_account,
        CASE WHEN eu IS NOT NULL THEN eu.device_id
             ELSE nullif(regexp_extract(end_user, '^user_([0-9A-Za-z]+)_account_', 1), '') END AS eu_device,
        -- neither: the end user a client named itself (LiteLLM's `user`), e.g. an e-mail address
        CASE WHEN left(end_user, 1) <> '{' AND NOT regexp_matches(end_user, '_account_[0-9A-Za-z\-]*_session_')
             THEN end_user END AS eu_plain,
        coalesce(nullif(output_message_raw, ''), lens_first_content(output_messages_raw), output_value_raw) AS output_text,
        coalesce(nullif(input_message_raw, ''), lens_first_content(input_messages_raw), input_value_raw) AS input_text,
        -- the response's tool_use blocks: computed here, once (the rule reading it names it twice)
        CASE WHEN kind = 'LLM' THEN array_to_string(regexp_extract_all(output_text,
            'tool_use\\?[''"][^{}]*?\\?[''"]name\\?[''"]\s*:\s*\\?[''"]([^''"\\]+)', 1), ',') END AS tool_uses,
        CASE WHEN tool_from_name IS NOT NULL OR upper(span_kind_raw) = 'TOOL' OR upper(kind_attr_raw) = 'TOOL' THEN
            coalesce(CASE WHEN json_valid(input_value_raw) THEN input_value_raw END,
                     CASE WHEN json_valid(tool_params_raw) THEN tool_params_raw END) END AS tool_input,
        lens_num(tokens_in_raw) AS tokens_in_num,
        lens_num(tokens_out_raw) AS tokens_out_num,
        coalesce(lens_num(cache_read_raw), lens_num(md.usage_object.cache_read_input_tokens)) AS cache_read_num,
        coalesce(lens_num(cache_write_raw), lens_num(md.usage_object.cache_creation_input_tokens)) AS cache_write_num
    FROM with_end_user AS ok
),
who AS (
    SELECT
        d.*,
        lens_clean_id(session_attr_raw) AS session_direct,
        lens_clean_id(eu_session) AS session_eu,
        lens_clean_id(user_attr_raw) AS user_direct,
        lens_clean_id(eu_account) AS account,
        lens_clean_id(eu_device) AS device,
        lens_clean_id(eu_plain) AS end_user_plain,
        coalesce(nullif(repo_flat_raw, ''), md.repo, md.repo_slug,
                 nullif(regexp_extract(coalesce(cwd_flat_raw, md.cwd), '([^/\\]+)[/\\]*$', 1), '')) AS repo,
        coalesce(service_name_raw, service_attr_raw, md.service_name) AS service,
        CASE WHEN kind = 'TOOL' THEN coalesce(nullif(tool_attr_raw, ''), tool_from_name, tool_input ->> '$.name', name_raw)
             -- tool_use blocks in the response's content, else OpenInference's tool calls of the
             -- output messages (flattened keys, or a dataframe's message list)
             WHEN kind = 'LLM' THEN coalesce(nullif(tool_uses, ''),
                 CASE WHEN contains(attributes_json, 'tool_call.function.name') THEN nullif(array_to_string(regexp_extract_all(attributes_json,
                     '"(attributes\.)?llm\.output_messages\.\d+\.message\.tool_calls\.\d+\.tool_call\.function\.name"\s*:\s*"([^"\\]+)"', 2), ','), '') END,
                 CASE WHEN lens_is_list(output_messages_raw) THEN nullif(array_to_string(regexp_extract_all(output_messages_raw,
                     '"tool_call\.function\.name"\s*:\s*"([^"\\]+)"', 1), ','), '') END)
        END AS tool
    FROM derived AS d
),
mapped AS (
    SELECT
        w.*,
        -- a developer the identity file knows, or a user id; else only a raw account, device or end-user id
        coalesce(i1.developer_id, i2.developer_id, i3.developer_id, i4.developer_id, w.user_direct) AS developer_named,
        coalesce(w.account, w.device, w.end_user_plain) AS developer_raw,
        coalesce(i1.team, i2.team, i3.team, i4.team) AS team_mapped
    FROM who AS w
    LEFT JOIN identity AS i1 ON i1.alias = lower(w.user_direct)
    LEFT JOIN identity AS i2 ON i2.alias = lower(w.account)
    LEFT JOIN identity AS i3 ON i3.alias = lower(w.device)
    LEFT JOIN identity AS i4 ON i4.alias = lower(w.end_user_plain)
),
trace_facts AS (
    -- A session or developer found on one span of a trace holds for the whole trace; a named
    -- developer wins over a raw account id on another span of it, or of its session (an unmapped
    -- developer's requests may carry a user id, Claude Code's spans only the account).
    SELECT trace_id,
        max(coalesce(session_direct, session_eu)) AS session,
        max(developer_named) AS developer_named,
        max(developer_raw) AS developer_raw,
        max(team_mapped) AS team,
        max(repo) AS repo,
        max(service) AS service
    FROM mapped
    WHERE trace_id IS NOT NULL
    GROUP BY trace_id
),
spread AS (
    SELECT
        m.*,
        coalesce(m.session_direct, m.session_eu, t.session, 'trace:' || coalesce(m.trace_id, m.span_id)) AS session,
        coalesce(m.developer_named, t.developer_named) AS developer_named_final,
        coalesce(m.developer_raw, t.developer_raw) AS developer_raw_final,
        coalesce(m.team_mapped, t.team) AS team_final,
        coalesce(m.repo, t.repo) AS repo_final,
        coalesce(m.service, t.service) AS service_final,
        m.kind = 'TOOL' AND m.tool IN ('Edit', 'Write', 'MultiEdit', 'NotebookEdit') AS is_edit
    FROM mapped AS m
    LEFT JOIN trace_facts AS t ON t.trace_id = m.trace_id
),
session_facts AS (
    SELECT session, max(developer_named_final) AS developer_named
    FROM spread
    WHERE developer_named_final IS NOT NULL
    GROUP BY session
),
edits AS (
    -- Code-edit outcomes: rejected by the user, failed, or applied with N lines (read for edits
    -- alone: the JSON paths and the pattern cost more than the rest of a span's fields).
    SELECT
        s.*,
        coalesce(s.developer_named_final, f.developer_named, s.developer_raw_final) AS developer_final,
        -- the team of the developer the span ends with: one lent by the session brings its team
        coalesce(i.team, s.team_final) AS team_out,
        CASE WHEN is_edit THEN coalesce(tool_input ->> '$.input.new_string', tool_input ->> '$.new_string',
                 tool_input ->> '$.input.content', tool_input ->> '$.content',
                 tool_input ->> '$.input.new_source', tool_input ->> '$.new_source',
                 nullif(array_to_string(coalesce(json_extract_string(tool_input, '$.input.edits[*].new_string'),
                                                 json_extract_string(tool_input, '$.edits[*].new_string')), chr(10)), '')) END AS new_text,
        CASE WHEN is_edit THEN coalesce(tool_input ->> '$.input.old_string', tool_input ->> '$.old_string',
                 nullif(array_to_string(coalesce(json_extract_string(tool_input, '$.input.edits[*].old_string'),
                                                 json_extract_string(tool_input, '$.edits[*].old_string')), chr(10)), '')) END AS old_text,
        -- (?i) regular expressions: ILIKE '%…%' on long texts costs four times as much
        -- (a <tool_use_error> is an edit the tool could not apply: string not found, file not read, …)
        is_edit AND coalesce(regexp_matches(output_value_raw, '(?i)doesn''t want to proceed|tool use was rejected|<tool_use_error>'), false) AS rejected
    FROM spread AS s
    LEFT JOIN session_facts AS f ON f.session = s.session
    LEFT JOIN identity AS i ON i.alias = lower(coalesce(s.developer_named_final, f.developer_named, s.developer_raw_final))
),
priced AS (
    SELECT
        e.*,
        lens_model(e.model_raw) AS model_norm,
        lens_provider(e.provider_raw, lens_model(e.model_raw)) AS provider_norm,
        r.uncached_input * greatest(coalesce(tokens_in_num, 0) - coalesce(cache_read_num, 0) - coalesce(cache_write_num, 0), 0)
            + r.cache_read * coalesce(cache_read_num, 0)
            + r.cache_write * coalesce(cache_write_num, 0)
            + r.output * coalesce(tokens_out_num, 0)
            + r.per_request AS computed_cost,
        r.model_raw IS NOT NULL AS has_price,
        left(input_text, 2 * $preview_chars) AS input_clip,
        left(output_text, 2 * $preview_chars) AS output_clip,
        lens_redact_all(left(input_text, 2 * $preview_chars)) AS input_clean,
        lens_redact_all(left(output_text, 2 * $preview_chars)) AS output_clean,
        -- a status message says what went wrong only on an error (OpenTelemetry sets it on no other
        -- status); an exception event says so whatever the status, by its message or else its type
        coalesce(CASE WHEN status_norm = 'ERROR' THEN nullif(status_message_raw, '') END,
            list_filter(coalesce(json_extract_string(CASE WHEN json_valid(events_raw) THEN events_raw END,  -- "" or junk: no events
                                                     '$[*].attributes."exception.message"'), []), x -> nullif(x, '') IS NOT NULL)[1],
            list_filter(coalesce(json_extract_string(CASE WHEN json_valid(events_raw) THEN events_raw END,
                                                     '$[*].attributes."exception.type"'), []), x -> nullif(x, '') IS NOT NULL)[1],
            CASE WHEN status_norm = 'ERROR' THEN 'error (no message)' END) AS error_text,
        lens_redact_all(error_text) AS error_clean,
        lens_redact_secrets(attributes_json) AS metadata_clean
    FROM edits AS e
    LEFT JOIN rates AS r
        ON r.model_raw = e.model_raw
       AND r.provider_raw IS NOT DISTINCT FROM nullif(lower(trim(e.provider_raw)), '')
       -- the price in force when the span started (prices change on a date)
       AND e.start_ts >= r.valid_from AND e.start_ts < r.valid_until
       -- a tier holds low < tokens_in <= high; no prompt tokens (0, or absent) are the first tier's
       AND greatest(coalesce(e.tokens_in_num, 0), 1) > r.low AND greatest(coalesce(e.tokens_in_num, 0), 1) <= r.high
)
SELECT
    span_id,
    trace_id,
    nullif(trim(parent_id_raw), '') AS parent_span_id,
    name_raw AS name,
    kind AS span_kind,
    $source AS source,
    coalesce(nullif(project_raw, ''), $project) AS project,
    service_final AS service_name,
    session AS session_id,
    developer_final AS developer_id,
    team_out AS team,
    repo_final AS repo_slug,
    start_ts AS start_time,
    end_ts AS end_time,
    CASE WHEN end_ts IS NOT NULL THEN epoch_us(end_ts - start_ts) / 1000.0 END AS latency_ms,
    status_norm AS status,
    left(error_clean, 2000) AS error_message,
    model_norm AS model,
    provider_norm AS provider,
    CAST(tokens_in_num AS BIGINT) AS tokens_in,
    CAST(tokens_out_num AS BIGINT) AS tokens_out,
    CAST(cache_read_num AS BIGINT) AS cache_read_tokens,
    CAST(cache_write_num AS BIGINT) AS cache_write_tokens,
    CASE WHEN reported_cost IS NOT NULL THEN reported_cost
         WHEN has_price AND (tokens_in_num IS NOT NULL OR tokens_out_num IS NOT NULL) THEN computed_cost END AS cost_usd,
    CASE WHEN reported_cost IS NOT NULL THEN 'reported'
         WHEN tokens_in_num IS NULL AND tokens_out_num IS NULL THEN 'no_usage'
         WHEN model_raw IS NULL OR NOT has_price THEN 'unknown_model'
         ELSE 'computed' END AS price_status,
    tool AS tool_name,
    CASE WHEN is_edit THEN NOT rejected AND status_norm <> 'ERROR' END AS accepted_flag,
    CASE WHEN is_edit THEN CASE WHEN NOT rejected AND status_norm <> 'ERROR' THEN len(lens_lines(new_text)) ELSE 0 END END AS accepted_lines,
    CASE WHEN is_edit THEN
        CASE WHEN old_text IS NULL THEN 1.0
             ELSE 1.0 - lens_common_lines(lens_lines(old_text), lens_lines(new_text))
                        / greatest(len(lens_lines(old_text)), len(lens_lines(new_text)), 1) END
    END AS diff_ratio,
    left(input_clean, $preview_chars) AS input_preview,
    left(output_clean, $preview_chars) AS output_preview,
    metadata_clean AS metadata,
    CAST(start_ts AS DATE) AS event_date,
    CAST($ingested_at AS TIMESTAMP) AS ingested_at,
    $run_id AS run_id,
    -- bookkeeping for the ingest summary, dropped before the lake
    regexp_matches(input_text, '(?i)redacted-by-litellm') OR regexp_matches(output_text, '(?i)redacted-by-litellm') AS _blackout,
    input_clip IS DISTINCT FROM input_clean OR output_clip IS DISTINCT FROM output_clean
        OR error_text IS DISTINCT FROM error_clean OR attributes_json IS DISTINCT FROM metadata_clean AS _redacted
FROM priced
