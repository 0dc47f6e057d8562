-- Screen: Models, latency distribution. Grain: one row per (model, latency bin) over requests;
-- bins are a tenth of a decade wide on a log scale (latency_ms from bin_low_ms to bin_high_ms).
SELECT
    model,
    power(10, floor(log10(greatest(latency_ms, 1)) * 10) / 10) AS bin_low_ms,
    power(10, (floor(log10(greatest(latency_ms, 1)) * 10) + 1) / 10) AS bin_high_ms,
    count(*) AS requests
FROM filtered_spans($start, $end, $developers, $teams, $models, $services, $repos)
WHERE is_request AND model IS NOT NULL AND latency_ms IS NOT NULL
GROUP BY ALL
ORDER BY model, bin_low_ms;
