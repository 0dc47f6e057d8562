-- live_clock: one row, how fresh the lake is for the Live screen. Screen: Live.
-- newest_span is the newest span start (sidebar developer/team/model/service/repo filters apply,
-- not its dates); quiet = nothing started in the last $minutes minutes before $now (UTC).
-- The newest whole hour with matching spans comes from `hourly_metrics` (same filters); spans are
-- read only from there (or from $now - $minutes, if earlier) on: one or two partitions.
WITH recent AS (
    SELECT start_time
    FROM spans
    WHERE start_time >= (
            SELECT least(coalesce(max(hour), date_trunc('hour', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY)),
                         CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT)))
            FROM filtered_hourly(TIMESTAMP '1970-01-01', date_trunc('hour', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY),
                                 $developers, $teams, $models, $services, $repos))
      AND event_date >= (
            SELECT CAST(least(coalesce(max(hour), date_trunc('hour', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY)),
                              CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT))) AS DATE)
            FROM filtered_hourly(TIMESTAMP '1970-01-01', date_trunc('hour', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY),
                                 $developers, $teams, $models, $services, $repos))
      AND start_time < CAST($now AS TIMESTAMP) + INTERVAL 1 DAY
      AND event_date <= CAST(CAST($now AS TIMESTAMP) + INTERVAL 1 DAY AS DATE)
      AND lens_allowed($developers, developer_id)
      AND lens_allowed($teams, team)
      AND lens_allowed($models, model)
      AND lens_allowed($services, service_name)
      AND lens_allowed($repos, repo_slug)
)
SELECT
    max(start_time) AS newest_span,
    epoch(CAST($now AS TIMESTAMP) - max(start_time)) AS lag_s,
    count(*) FILTER (WHERE start_time >= CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT))) AS recent_spans,
    coalesce(max(start_time) < CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT)), true) AS quiet
FROM recent;
