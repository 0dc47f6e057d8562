-- dead_letters: every record that could not become a span (grain: file, line and raw record). A
-- record rejected again by a later run (the same export ingested twice) is one row, the latest
-- run's; each run's own count stays in ingest_runs.dead_letters.
CREATE OR REPLACE VIEW dead_letters AS
SELECT run_id, source_file, line, reason, raw, recorded_at
FROM {{dead_letters}}
WHERE NOT lens_scoped()  -- raw records name no one reliably: hidden from scoped users
QUALIFY row_number() OVER (PARTITION BY source_file, line, raw ORDER BY recorded_at DESC, run_id DESC) = 1;
