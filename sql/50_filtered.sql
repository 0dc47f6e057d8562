-- The shared screen filters, as table macros so every screen and the DuckDB CLI apply them the same way.
-- Arguments: time window [start_ts, end_ts) and lists of allowed values; an empty list allows all.
-- Example (CLI): SELECT sum(cost_usd) FROM filtered_spans(TIMESTAMP '2026-11-01', TIMESTAMP '2026-12-01', [], [], [], [], []);
CREATE OR REPLACE MACRO lens_allowed(allowed, value) AS len(allowed) = 0 OR list_contains(allowed, value);
-- Whether a row's developer, team, model, service and repo pass the five filters.
CREATE OR REPLACE MACRO lens_passes(developers, teams, models, services, repos, developer, team_name, model_name, service, repo) AS
    lens_allowed(developers, developer) AND lens_allowed(teams, team_name) AND lens_allowed(models, model_name)
    AND lens_allowed(services, service) AND lens_allowed(repos, repo);

CREATE OR REPLACE MACRO filtered_spans(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM spans
WHERE start_time >= start_ts AND start_time < end_ts
  AND event_date BETWEEN CAST(start_ts AS DATE) AND CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

-- filtered_hourly: the same over `hourly_metrics`; the window counts whole hours (the app's windows are whole days).
CREATE OR REPLACE MACRO filtered_hourly(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM hourly_metrics
WHERE hour >= start_ts AND hour < end_ts
  AND event_date BETWEEN CAST(start_ts AS DATE) AND CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

CREATE OR REPLACE MACRO filtered_daily(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM daily_metrics
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

-- filtered_metrics: hourly_metrics' measures for a window, without the hour and the tool: its whole
-- days from daily_metrics (about 13x fewer rows), the partial days at its edges from hourly_metrics
-- (whole hours, as filtered_hourly). Whole days are [first_day, end_day); a window inside one day
-- has none, and its hours come from the first edge alone. Both edges are one scan of the two edge
-- days: a 30-day screen query took 7.4 ms on a synthetic year where a branch for each took 8.5.
CREATE OR REPLACE MACRO lens_first_whole_day(start_ts) AS CAST(CAST(start_ts AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND AS DATE);
CREATE OR REPLACE MACRO lens_in_edges(ts, start_ts, end_ts) AS
    (ts >= start_ts AND ts < least(CAST(lens_first_whole_day(start_ts) AS TIMESTAMP), CAST(end_ts AS TIMESTAMP)))
    OR (ts >= greatest(CAST(CAST(end_ts AS DATE) AS TIMESTAMP), CAST(lens_first_whole_day(start_ts) AS TIMESTAMP)) AND ts < end_ts);
CREATE OR REPLACE MACRO filtered_metrics(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM filtered_daily(lens_first_whole_day(start_ts), CAST(end_ts AS DATE), developers, teams, models, services, repos)
UNION ALL BY NAME
SELECT * EXCLUDE (hour, tool_name)
FROM hourly_metrics
WHERE lens_in_edges(hour, start_ts, end_ts)
  AND (event_date = CAST(start_ts AS DATE) OR event_date = CAST(end_ts AS DATE))
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

-- filtered_trend: filtered_metrics' measures with a `bucket` column at the grain asked for ('hour'
-- or 'day'): by the day from filtered_metrics (whole days from daily_metrics), by the hour from
-- hourly_metrics. The other side's window is empty, so its files are not read.
CREATE OR REPLACE MACRO filtered_trend(grain, start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT CAST(event_date AS TIMESTAMP) AS bucket, *
FROM filtered_metrics(start_ts, CASE WHEN grain = 'day' THEN end_ts ELSE start_ts END, developers, teams, models, services, repos)
UNION ALL BY NAME
SELECT hour AS bucket, * EXCLUDE (hour, tool_name)
FROM filtered_hourly(CASE WHEN grain = 'day' THEN end_ts ELSE start_ts END, end_ts, developers, teams, models, services, repos);

-- The first day a month-to-date and a 7-day run-rate ending on as_of read (the Cost screen):
-- a plain expression of a parameter, so the rollup files outside it are never opened.
CREATE OR REPLACE MACRO lens_month_and_week_start(as_of) AS
    least(CAST(date_trunc('month', CAST(as_of AS DATE)) AS DATE), CAST(as_of AS DATE) - 6);

-- The same filters over the screens' smaller rollups (sql/25_rollups.sql). Day-grain ones count whole
-- days of the window. Tool calls carry no model: the model filter applies to their caller's model.
-- filtered_tool_calls_hourly: whole hours, as filtered_hourly.
CREATE OR REPLACE MACRO filtered_tool_calls_hourly(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM tool_calls
WHERE hour >= start_ts AND hour < end_ts
  AND event_date BETWEEN CAST(start_ts AS DATE) AND CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, caller_model, service_name, repo_slug);

CREATE OR REPLACE MACRO filtered_tool_calls_daily(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM tool_calls_daily
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, caller_model, service_name, repo_slug);

-- filtered_tool_calls: tool_calls' measures for a window, without the hour, as filtered_metrics: whole
-- days from tool_calls_daily (about a third of the rows), the partial days at the edges by the hour.
CREATE OR REPLACE MACRO filtered_tool_calls(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT * EXCLUDE (day)
FROM filtered_tool_calls_daily(lens_first_whole_day(start_ts), CAST(end_ts AS DATE), developers, teams, models, services, repos)
UNION ALL BY NAME
SELECT * EXCLUDE (hour)
FROM tool_calls
WHERE lens_in_edges(hour, start_ts, end_ts)
  AND (event_date = CAST(start_ts AS DATE) OR event_date = CAST(end_ts AS DATE))
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, caller_model, service_name, repo_slug);

-- A span without a model (a tool call) passes the model filter through its caller's model.
CREATE OR REPLACE MACRO filtered_session_activity(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM session_activity
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, coalesce(model, caller_model), service_name, repo_slug);

-- The same over session_models (session_activity without the tool): a third of the rows.
CREATE OR REPLACE MACRO filtered_session_models(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM session_models
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, coalesce(model, caller_model), service_name, repo_slug);

CREATE OR REPLACE MACRO filtered_latency(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM latency_histogram
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

-- A transition counts when both calls are in the window and both callers' models pass.
CREATE OR REPLACE MACRO filtered_tool_transitions(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM tool_transitions
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND (NOT crosses_midnight OR event_date > CAST(start_ts AS DATE))
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, from_caller_model, service_name, repo_slug)
  AND lens_allowed(models, to_caller_model);

-- The Tools screen's sessions per tool, tool-call latency and tool chains for a window: with no filter
-- set, from the rollups without filter dimensions (tool_sessions, tool_latency, tool_chains: from 1/2
-- to 1/200 of the rows); otherwise from the full ones. The parameters are folded when the query is
-- planned, so only one branch is read. filtered_tool_sessions: one row per (day, tool, session).
CREATE OR REPLACE MACRO lens_unfiltered(developers, teams, models, services, repos) AS
    len(developers) = 0 AND len(teams) = 0 AND len(models) = 0 AND len(services) = 0 AND len(repos) = 0;

CREATE OR REPLACE MACRO filtered_tool_sessions(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT event_date, tool_name, session_id
FROM tool_sessions
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_unfiltered(developers, teams, models, services, repos)
UNION ALL
SELECT DISTINCT event_date, tool_name, session_id
FROM filtered_session_activity(start_ts, end_ts, developers, teams, models, services, repos)
WHERE tool_calls > 0 AND NOT lens_unfiltered(developers, teams, models, services, repos);

CREATE OR REPLACE MACRO filtered_tool_latency(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT event_date, tool_name, bucket, spans
FROM tool_latency
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_unfiltered(developers, teams, models, services, repos)
UNION ALL
SELECT event_date, tool_name, bucket, spans
FROM filtered_latency(start_ts, end_ts, developers, teams, models, services, repos)
WHERE kind = 'tool' AND NOT lens_unfiltered(developers, teams, models, services, repos);

CREATE OR REPLACE MACRO filtered_tool_chains(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT event_date, from_tool, to_tool, transitions
FROM tool_chains
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND (NOT crosses_midnight OR event_date > CAST(start_ts AS DATE))
  AND lens_unfiltered(developers, teams, models, services, repos)
UNION ALL
SELECT event_date, from_tool, to_tool, transitions
FROM filtered_tool_transitions(start_ts, end_ts, developers, teams, models, services, repos)
WHERE NOT lens_unfiltered(developers, teams, models, services, repos);

-- Requests' latency buckets for a window: by model alone (request_latency) unless a filter other than
-- the model one is set.
CREATE OR REPLACE MACRO lens_model_filter_only(developers, teams, services, repos) AS
    len(developers) = 0 AND len(teams) = 0 AND len(services) = 0 AND len(repos) = 0;

CREATE OR REPLACE MACRO filtered_request_latency(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT event_date, model, bucket, spans
FROM request_latency
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_allowed(models, model) AND lens_model_filter_only(developers, teams, services, repos)
UNION ALL
SELECT event_date, model, bucket, spans
FROM filtered_latency(start_ts, end_ts, developers, teams, models, services, repos)
WHERE kind = 'request' AND NOT lens_model_filter_only(developers, teams, services, repos);

CREATE OR REPLACE MACRO filtered_error_types(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM error_types
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

CREATE OR REPLACE MACRO filtered_cost_savings(start_ts, end_ts, developers, teams, models, services, repos) AS TABLE
SELECT *
FROM cost_savings
WHERE event_date >= CAST(start_ts AS DATE) AND event_date < CAST(end_ts AS DATE)
  AND lens_passes(developers, teams, models, services, repos, developer_id, team, model, service_name, repo_slug);

-- A tool's type on the Tools screen (Claude Code's tool names; MCP tools by their mcp__ prefix).
CREATE OR REPLACE MACRO lens_tool_type(tool) AS
    CASE
        WHEN tool LIKE 'mcp\_\_%' ESCAPE '\' THEN 'MCP'
        WHEN tool IN ('Read', 'NotebookRead', 'LS') THEN 'file read'
        WHEN tool IN ('Edit', 'Write', 'MultiEdit', 'NotebookEdit') THEN 'file edit'
        WHEN tool IN ('Bash', 'BashOutput', 'KillShell', 'KillBash') THEN 'shell'
        WHEN tool IN ('Grep', 'Glob') THEN 'search'
        WHEN tool IN ('WebFetch', 'WebSearch') THEN 'web'
        WHEN tool IN ('Task', 'Agent', 'Skill', 'SlashCommand', 'TodoWrite', 'ExitPlanMode') THEN 'agent'
        ELSE 'other'
    END;

-- A latency_histogram bucket's representative latency (ms): its geometric middle, within ±6% of every
-- latency in it (0 for bucket -1, spans without a duration).
CREATE OR REPLACE MACRO latency_bucket_ms(bucket) AS
    CASE WHEN bucket < 0 THEN 0.0 ELSE power(10, (bucket + 0.5) / 20) END;

-- ≈ quantile q of a histogram, as quantile_cont does it: the values at ranks floor(h) and floor(h) + 1,
-- h = (total - 1) * q + 1, interpolated; each value is its bucket's middle. An aggregate over rows
-- (bucket, upto = requests in buckets <= this one, total = all requests) of one group. Screens show it as "≈".
CREATE OR REPLACE MACRO latency_quantile(bucket, upto, total, q) AS
    latency_bucket_ms(min(bucket) FILTER (WHERE upto >= floor((total - 1) * q) + 1))
    + ((any_value(total) - 1) * q - floor((any_value(total) - 1) * q))
      * (latency_bucket_ms(min(bucket) FILTER (WHERE upto >= least(floor((total - 1) * q) + 2, total)))
         - latency_bucket_ms(min(bucket) FILTER (WHERE upto >= floor((total - 1) * q) + 1)));
