-- spans: one row per canonical span (grain: span_id), over the Parquet lake.
-- is_request marks a model call that carries usage (the unit of "requests" on every screen);
-- raw_gen_ai_request is LiteLLM's raw copy of a request and is not counted again.
CREATE OR REPLACE VIEW spans AS
SELECT
    * REPLACE (CAST(metadata AS JSON) AS metadata),
    span_kind = 'LLM' AND (tokens_in IS NOT NULL OR tokens_out IS NOT NULL) AND name IS DISTINCT FROM 'raw_gen_ai_request' AS is_request,
    status = 'ERROR' AS is_error,
    coalesce(tokens_in, 0) + coalesce(tokens_out, 0) AS tokens_total
FROM {{spans}};
