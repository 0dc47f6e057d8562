-- dead_letters: every record that could not become a span (grain: run, file, line).
CREATE OR REPLACE VIEW dead_letters AS
SELECT run_id, source_file, line, reason, raw, recorded_at
FROM {{dead_letters}}
WHERE NOT lens_scoped();  -- raw records name no one reliably: hidden from scoped users
