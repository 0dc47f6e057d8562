-- Audit page table: the newest 5,000 events of the last $days days, optionally only some
-- $actions (empty = all) and actors containing $actor (case-insensitive, literal text).
SELECT occurred_at, actor, role, action, target, detail
FROM audit_log
WHERE occurred_at >= CAST(now() AS TIMESTAMP) - to_days(CAST($days AS INTEGER))
  AND (len(CAST($actions AS VARCHAR[])) = 0 OR list_contains(CAST($actions AS VARCHAR[]), action))
  AND ($actor = '' OR contains(lower(actor), lower($actor)))
ORDER BY occurred_at DESC
LIMIT 5000;
