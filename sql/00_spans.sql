-- spans: one row per canonical span (grain: span_id), over the Parquet lake.
-- is_request marks a model call that carries usage (the unit of "requests" on every screen);
-- raw_gen_ai_request is LiteLLM's raw copy of a request and is not counted again.
-- Row scope: the app sets these variables on every cursor from the logged-in user (never from
-- the URL): lens_scoped = true limits a developer to their own developer id or team. Unset
-- (the DuckDB CLI, ingest, rollups) means every row. Every view below filters through them.
CREATE OR REPLACE MACRO lens_scoped() AS coalesce(CAST(getvariable('lens_scoped') AS BOOLEAN), false);
CREATE OR REPLACE MACRO lens_in_scope(developer, team_name) AS
    NOT lens_scoped()
    OR list_contains(coalesce(CAST(getvariable('lens_scope_developers') AS VARCHAR[]), CAST([] AS VARCHAR[])), developer)
    OR list_contains(coalesce(CAST(getvariable('lens_scope_teams') AS VARCHAR[]), CAST([] AS VARCHAR[])), team_name);

CREATE OR REPLACE VIEW spans AS
SELECT
    * REPLACE (CAST(metadata AS JSON) AS metadata),
    span_kind = 'LLM' AND (tokens_in IS NOT NULL OR tokens_out IS NOT NULL) AND name IS DISTINCT FROM 'raw_gen_ai_request' AS is_request,
    status = 'ERROR' AS is_error,
    coalesce(tokens_in, 0) + coalesce(tokens_out, 0) AS tokens_total
FROM {{spans}}
WHERE lens_in_scope(developer_id, team);
