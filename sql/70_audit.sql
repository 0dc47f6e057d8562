-- audit_log: one row per audited event (grain: event): page views with their filters, CSV
-- exports, budget/user/alert-rule changes, logins, failed logins, purges and exports.
-- Written by lens_etl/audit.py as append-only files under data/audit/; admins only in the
-- app (scoped sessions see no rows).
CREATE OR REPLACE VIEW audit_log AS
SELECT occurred_at, actor, role, action, target, detail
FROM {{audit_log}}
WHERE NOT lens_scoped();
