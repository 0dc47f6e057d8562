-- The screens' smaller per-day rollups (sql/rollups/*.sql, computed per day by every ingest and
-- read from one file per month, lens_etl/rollups.py): event_date is the day. Their headers say the grain.
-- tool_calls: TOOL spans per hour, developer, team, service, repo, caller model and tool.
CREATE OR REPLACE VIEW tool_calls AS
SELECT * FROM {{tool_calls}}
WHERE lens_in_scope(developer_id, team);

-- tool_calls_daily: the same per day (no hour).
CREATE OR REPLACE VIEW tool_calls_daily AS
SELECT * FROM {{tool_calls_daily}}
WHERE lens_in_scope(developer_id, team);

-- session_activity: sessions per day and filter values (model, caller model, tool), for distinct counts.
CREATE OR REPLACE VIEW session_activity AS
SELECT * FROM {{session_activity}}
WHERE lens_in_scope(developer_id, team);

-- session_models: session_activity without the tool, for session counts and per-session sums.
CREATE OR REPLACE VIEW session_models AS
SELECT * FROM {{session_models}}
WHERE lens_in_scope(developer_id, team);

-- latency_histogram: request and tool-call latency counts in log buckets (20 per decade, quantiles ≈ ±6%).
CREATE OR REPLACE VIEW latency_histogram AS
SELECT * FROM {{latency_histogram}}
WHERE lens_in_scope(developer_id, team);

-- tool_transitions: consecutive tool calls of a session (from tool -> to tool) per day.
CREATE OR REPLACE VIEW tool_transitions AS
SELECT * FROM {{tool_transitions}}
WHERE lens_in_scope(developer_id, team);

-- tool_sessions, tool_latency, tool_chains, request_latency: the Tools screen's sessions per tool,
-- tool-call latency histogram and tool transitions, and the request latency histogram by model, per day
-- without the filter dimensions, for views no filter narrows (filtered_tool_*, filtered_request_latency
-- in 50_filtered.sql). A developer's session (lens_scoped()) gets the same rows
-- added up from the rollups above, which it sees in part; the variable is folded when the query is
-- planned, so the other branch costs nothing.
CREATE OR REPLACE VIEW tool_sessions AS
SELECT * FROM {{tool_sessions}}
WHERE NOT lens_scoped()
UNION ALL BY NAME
SELECT event_date, tool_name, session_id, sum(tool_calls) AS calls
FROM session_activity
WHERE lens_scoped() AND tool_calls > 0
GROUP BY ALL;

CREATE OR REPLACE VIEW tool_latency AS
SELECT * FROM {{tool_latency}}
WHERE NOT lens_scoped()
UNION ALL BY NAME
SELECT event_date, tool_name, bucket, sum(spans) AS spans
FROM latency_histogram
WHERE lens_scoped() AND kind = 'tool'
GROUP BY ALL;

CREATE OR REPLACE VIEW tool_chains AS
SELECT * FROM {{tool_chains}}
WHERE NOT lens_scoped()
UNION ALL BY NAME
SELECT event_date, from_tool, to_tool, crosses_midnight, sum(transitions) AS transitions
FROM tool_transitions
WHERE lens_scoped()
GROUP BY ALL;

CREATE OR REPLACE VIEW request_latency AS
SELECT * FROM {{request_latency}}
WHERE NOT lens_scoped()
UNION ALL BY NAME
SELECT event_date, model, bucket, sum(spans) AS spans
FROM latency_histogram
WHERE lens_scoped() AND kind = 'request'
GROUP BY ALL;

-- error_types: failed model calls per day, model and error class.
CREATE OR REPLACE VIEW error_types AS
SELECT * FROM {{error_types}}
WHERE lens_in_scope(developer_id, team);

-- cost_savings: priced requests by prompt size and failed model calls by error type, per day
-- (the Cost screen's optimization suggestions).
CREATE OR REPLACE VIEW cost_savings AS
SELECT * FROM {{cost_savings}}
WHERE lens_in_scope(developer_id, team);

-- filter_values: the values of each filter dimension per day, the day's bounds, unpriced models;
-- per developer and team (a developer's own session sees only its own), so read it with sums,
-- min/max or GROUP BY.
CREATE OR REPLACE VIEW filter_values AS
SELECT * FROM {{filter_values}}
WHERE lens_in_scope(developer_id, team);
