-- Rollup: the request latency histogram of one day by model alone, one row per (model, bucket): the
-- Overview's p95 and the Models screen's quantiles and histogram when no filter but the model one is
-- set (under a hundredth of the request rows of latency_histogram, the same day's, computed just
-- before it). Buckets as in latency_histogram.
SELECT model, bucket, sum(spans) AS spans
FROM latency_histogram
WHERE kind = 'request'
GROUP BY ALL
