-- sessions: one row per session_id (a Claude Code session; else the trace, see README): the derived
-- rollup `session_totals` (sql/derived/session_totals.sql), the whole session's totals added up from
-- the per-day rollup `session_days` (one row per session, model and day). A scoped user sees the
-- sessions of their own developer id or team (a session's developer and team: those of its first span).
CREATE OR REPLACE VIEW session_days AS
SELECT * FROM {{session_days}}
WHERE lens_in_scope(developer_id, team);

CREATE OR REPLACE VIEW sessions AS
SELECT * FROM {{session_totals}}
WHERE lens_in_scope(developer_id, team);
