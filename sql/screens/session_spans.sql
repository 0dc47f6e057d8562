-- session_spans: one row per span of session $session_id, in tree order (depth-first, children by
-- start time). Screen: Sessions (span tree, waterfall, per-span cost). Offsets are seconds since
-- the session's first span; row_label ("seq. label") is unique, for the waterfall's rows.
-- A span whose parent is not in the session is a root. A sub-agent is a Task tool span: its
-- children are the sub-agent's own model and tool calls (in_sub_agent). Depth is capped at 64
-- so that a parent cycle in bad data cannot loop.
-- Reads only the session's partitions: $first_day..$last_day (session_summary's first_day, last_day).
WITH RECURSIVE s AS (
    SELECT *, span_kind = 'TOOL' AND tool_name = 'Task' AS is_task
    FROM spans
    WHERE session_id = $session_id
      AND event_date BETWEEN CAST($first_day AS DATE) AND CAST($last_day AS DATE)
),
tree AS (
    SELECT span_id, is_task, 0 AS depth, [strftime(start_time, '%Y%m%d%H%M%S%f') || span_id] AS path, false AS in_sub_agent
    FROM s
    WHERE parent_span_id IS NULL OR parent_span_id NOT IN (SELECT span_id FROM s)
    UNION ALL
    SELECT c.span_id, c.is_task, t.depth + 1, list_append(t.path, strftime(c.start_time, '%Y%m%d%H%M%S%f') || c.span_id),
           t.in_sub_agent OR t.is_task
    FROM tree AS t
    JOIN s AS c ON c.parent_span_id = t.span_id
    WHERE t.depth < 64
)
SELECT
    row_number() OVER (ORDER BY t.path) AS seq,
    t.depth,
    repeat(chr(8195) || chr(8195), t.depth) || CASE WHEN t.depth > 0 THEN '└ ' ELSE '' END
        || CASE WHEN t.is_task THEN '▸ sub-agent (Task)'
                WHEN s.span_kind = 'TOOL' THEN coalesce(s.tool_name, s.name)
                ELSE concat_ws(' · ', s.name, s.model) END AS label,
    seq || '. ' || label AS row_label,
    t.in_sub_agent,
    s.span_id,
    s.parent_span_id,
    s.trace_id,
    s.name,
    s.span_kind,
    CASE WHEN s.span_kind = 'TOOL' THEN s.tool_name END AS tool_name,
    s.model,
    s.status,
    s.start_time,
    coalesce(s.end_time, s.start_time) AS end_time,
    epoch_ms(s.start_time - min(s.start_time) OVER ()) / 1000.0 AS offset_s,
    epoch_ms(coalesce(s.end_time, s.start_time) - min(s.start_time) OVER ()) / 1000.0 AS end_offset_s,
    epoch_ms(max(coalesce(s.end_time, s.start_time)) OVER () - min(s.start_time) OVER ()) / 1000.0 AS session_s,
    s.latency_ms,
    s.tokens_in,
    s.tokens_out,
    s.cache_read_tokens,
    s.cost_usd,
    s.is_request,
    s.is_error
FROM tree AS t
JOIN s USING (span_id)
ORDER BY seq;
