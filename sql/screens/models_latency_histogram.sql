-- Screen: Models, latency distribution. Grain: one row per (model, latency bin) over requests;
-- bins are a tenth of a decade wide on a log scale (latency_ms from bin_low_ms to bin_high_ms).
-- Rollup: latency_histogram, or request_latency when only the model filter is set (two of its buckets make one bin, so the counts are exact).
SELECT
    model,
    power(10, floor(greatest(bucket, 0) / 2) / 10) AS bin_low_ms,
    power(10, (floor(greatest(bucket, 0) / 2) + 1) / 10) AS bin_high_ms,
    sum(spans) AS requests
FROM filtered_request_latency($start, $end, $developers, $teams, $models, $services, $repos)
WHERE model IS NOT NULL
GROUP BY ALL
ORDER BY model, bin_low_ms;
