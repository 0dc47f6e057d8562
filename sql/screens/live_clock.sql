-- live_clock: one row, how fresh the lake is for the Live screen. Screen: Live.
-- newest_span is the newest span start (sidebar developer/team/model/service/repo filters apply,
-- not its dates); quiet = nothing started in the last $minutes minutes before $now (UTC).
SELECT
    max(start_time) AS newest_span,
    epoch(CAST($now AS TIMESTAMP) - max(start_time)) AS lag_s,
    count(*) FILTER (WHERE start_time >= CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT))) AS recent_spans,
    coalesce(max(start_time) < CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT)), true) AS quiet
FROM filtered_spans(TIMESTAMP '1970-01-01', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY, $developers, $teams, $models, $services, $repos);
