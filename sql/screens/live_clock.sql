-- live_clock: one row, how fresh the lake is for the Live screen. Screen: Live.
-- newest_span is the newest span start (sidebar developer/team/model/service/repo filters apply,
-- not its dates); quiet = nothing started in the last $minutes minutes before $now (UTC).
-- The newest whole hour with matching spans (before the hour after $now + 1 day) comes from
-- `hourly_metrics`, read for two days only: the last day's hours before that bound, and the newest
-- earlier day with matching spans, found in `daily_metrics`. Spans are read only from that hour
-- (or from $now - $minutes, if earlier) on: one or two partitions.
WITH bound AS (
    SELECT date_trunc('hour', CAST($now AS TIMESTAMP) + INTERVAL 1 DAY) AS end_hour
),
newest_day AS (
    SELECT max(event_date) AS day
    FROM filtered_daily(DATE '1970-01-01', (SELECT CAST(end_hour AS DATE) FROM bound),
                        $developers, $teams, $models, $services, $repos)
),
newest_hour AS (
    -- a join, not a filter on subqueries: its keys prune the files' row groups by event_date
    SELECT max(hour) AS hour
    FROM hourly_metrics
    SEMI JOIN (SELECT day AS event_date FROM newest_day UNION SELECT CAST(end_hour AS DATE) FROM bound) USING (event_date)
    WHERE hour < (SELECT end_hour FROM bound)
      AND lens_allowed($developers, developer_id)
      AND lens_allowed($teams, team)
      AND lens_allowed($models, model)
      AND lens_allowed($services, service_name)
      AND lens_allowed($repos, repo_slug)
),
since AS (
    SELECT least(coalesce(hour, (SELECT end_hour FROM bound)),
                 CAST($now AS TIMESTAMP) - to_minutes(CAST($minutes AS BIGINT))) AS start_time
    FROM newest_hour
),
recent AS (
    SELECT start_time
    FROM spans
    WHERE start_time >= (SELECT start_time FROM since)
      AND event_date >= (SELECT CAST(start_time AS DATE) FROM since)
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
