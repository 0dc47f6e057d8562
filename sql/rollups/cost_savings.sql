-- Rollup: what the Cost screen's optimization suggestions add up, per developer, team, service,
-- repo, model and provider of one day (a day, not an hour: the screen's windows are whole days). Two kinds of row:
-- 'request': requests with a cost and a prompt size, by prompt_under = the smallest short-prompt
--   threshold above tokens_in (the Cost screen's choices, pages/cost.py SHORT_PROMPT_OPTIONS; NULL
--   when tokens_in is at or above all of them), with the usage sums that re-price them at another
--   model's per-token rates (uncached prompt, cache read, cache write, output).
-- 'failed': failed model calls (LLM spans in ERROR, not LiteLLM's raw copies) by error type. A call
--   is retried when the session's first successful request after it starts within 300 s of its
--   end (ASOF join over this day and the next: `spans` holds both, and the rollup is recomputed
--   for the day before every day an ingest touches). retry_* sum the retry's prompt usage of the
--   retried calls that reported no cost: the Cost screen prices them at the failed model's rates.
-- event_date is the first day in `spans`: the day the rollup is for.
WITH this_day AS (
    SELECT min(event_date) AS day FROM spans
),
requests AS (
    SELECT
        developer_id, team, service_name, repo_slug, model, provider,
        'request' AS kind,
        list_filter([2000, 5000, 10000, 20000, 50000], x -> tokens_in < x)[1] AS prompt_under,
        CAST(NULL AS VARCHAR) AS error_type,
        count(*) AS calls,
        sum(cost_usd) AS cost_usd,
        sum(greatest(tokens_in - coalesce(cache_read_tokens, 0) - coalesce(cache_write_tokens, 0), 0)) AS uncached_in,
        sum(coalesce(cache_read_tokens, 0)) AS cache_read,
        sum(coalesce(cache_write_tokens, 0)) AS cache_write,
        sum(coalesce(tokens_out, 0)) AS tokens_out,
        0 AS retried,
        0 AS retry_uncached_in,
        0 AS retry_cache_read,
        0 AS retry_cache_write
    FROM spans
    WHERE event_date = (SELECT day FROM this_day) AND is_request AND cost_usd IS NOT NULL AND tokens_in IS NOT NULL
    GROUP BY ALL
),
failed AS (
    SELECT *
    FROM spans
    WHERE event_date = (SELECT day FROM this_day)
      AND span_kind = 'LLM' AND is_error AND name IS DISTINCT FROM 'raw_gen_ai_request'
),
retries AS (
    SELECT
        f.*,
        coalesce(r.start_time <= coalesce(f.end_time, f.start_time) + INTERVAL 300 SECOND, false) AS retried,
        CASE WHEN f.cost_usd IS NULL AND r.start_time <= coalesce(f.end_time, f.start_time) + INTERVAL 300 SECOND
             THEN r.tokens_in END AS retry_tokens_in,
        r.cache_read_tokens AS retry_cache_read_tokens,
        r.cache_write_tokens AS retry_cache_write_tokens
    FROM failed AS f
    ASOF LEFT JOIN (SELECT session_id, start_time, tokens_in, cache_read_tokens, cache_write_tokens
                    FROM spans WHERE is_request AND NOT is_error) AS r
        ON r.session_id = f.session_id AND r.start_time > f.start_time
),
failures AS (
    SELECT
        developer_id, team, service_name, repo_slug, model, provider,
        'failed' AS kind,
        CAST(NULL AS INTEGER) AS prompt_under,
        coalesce(nullif(regexp_extract(error_message, '([A-Za-z]*(Error|Exception|Timeout))', 1), ''),
                 left(coalesce(error_message, '(no message)'), 60)) AS error_type,
        count(*) AS calls,
        sum(cost_usd) AS cost_usd,
        0 AS uncached_in, 0 AS cache_read, 0 AS cache_write, 0 AS tokens_out,
        count(*) FILTER (WHERE retried) AS retried,
        -- priced only when the retry's prompt size is known (as a row's estimate is NULL otherwise)
        coalesce(sum(greatest(retry_tokens_in - coalesce(retry_cache_read_tokens, 0) - coalesce(retry_cache_write_tokens, 0), 0)), 0) AS retry_uncached_in,
        coalesce(sum(coalesce(retry_cache_read_tokens, 0)) FILTER (WHERE retry_tokens_in IS NOT NULL), 0) AS retry_cache_read,
        coalesce(sum(coalesce(retry_cache_write_tokens, 0)) FILTER (WHERE retry_tokens_in IS NOT NULL), 0) AS retry_cache_write
    FROM retries
    GROUP BY ALL
)
SELECT * FROM requests
UNION ALL BY NAME
SELECT * FROM failures
