-- Rollup: the tool-call latency histogram of one day without the filter dimensions, one row per
-- (tool, bucket): the Tools screen's quantiles when no filter is set (a fiftieth of the tool rows of
-- latency_histogram, the same day's, computed just before it). Buckets as in latency_histogram.
SELECT tool_name, bucket, sum(spans) AS spans
FROM latency_histogram
WHERE kind = 'tool'
GROUP BY ALL
