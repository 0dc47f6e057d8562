-- ingest_runs: one row per ingest run, with its counts; read == written + duplicates + dead_letters.
CREATE OR REPLACE VIEW ingest_runs AS
SELECT *
FROM {{ingest_runs}}
WHERE NOT lens_scoped();
