"""The canonical span: the one contract between normalize, the lake and the views."""
from __future__ import annotations

import pyarrow as pa

UTC_TS = pa.timestamp("us")  # naive, always UTC: plain TIMESTAMP in DuckDB

SPAN_SCHEMA = pa.schema(
    [
        ("span_id", pa.string()),
        ("trace_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("span_kind", pa.string()),
        ("source", pa.string()),
        ("project", pa.string()),
        ("service_name", pa.string()),
        ("session_id", pa.string()),
        ("developer_id", pa.string()),
        ("team", pa.string()),
        ("repo_slug", pa.string()),
        ("start_time", UTC_TS),
        ("end_time", UTC_TS),
        ("latency_ms", pa.float64()),
        ("status", pa.string()),
        ("error_message", pa.string()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("tokens_in", pa.int64()),
        ("tokens_out", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("price_status", pa.string()),
        ("tool_name", pa.string()),
        ("accepted_flag", pa.bool_()),
        ("accepted_lines", pa.int32()),
        ("diff_ratio", pa.float64()),
        ("input_preview", pa.string()),
        ("output_preview", pa.string()),
        ("metadata", pa.string()),
        ("event_date", pa.date32()),
        ("ingested_at", UTC_TS),
        ("run_id", pa.string()),
    ]
)
"""price_status: reported | computed | unknown_model | no_usage. metadata: JSON text."""

SPAN_COLUMNS = SPAN_SCHEMA.names
PARTITION_COLUMN = "event_date"

DEAD_LETTER_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("source_file", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("recorded_at", UTC_TS),
    ]
)

RAW_SCHEMA = pa.schema(
    [("source_file", pa.string()), ("line", pa.int64()), ("doc", pa.string()), ("problem", pa.string())]
)
"""A batch of raw records as read: where each came from, its JSON text, and a reader's
reason to reject it (e.g. a CSV row with the wrong number of cells), if any."""

INGEST_RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("source", pa.string()),
        ("target", pa.string()),
        ("window_start", UTC_TS),
        ("window_end", UTC_TS),
        ("started_at", UTC_TS),
        ("finished_at", UTC_TS),
        ("duration_s", pa.float64()),
        ("read", pa.int64()),
        ("written", pa.int64()),
        ("duplicates", pa.int64()),
        ("dead_letters", pa.int64()),
        ("unpriced", pa.int64()),
        ("blackouts", pa.int64()),
        ("redactions", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
)

ALERT_EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event", pa.string()),
        ("alert_key", pa.string()),
        ("rule_id", pa.string()),
        ("rule_type", pa.string()),
        ("severity", pa.string()),
        ("subject", pa.string()),
        ("value", pa.float64()),
        ("threshold", pa.float64()),
        ("baseline", pa.float64()),
        ("message", pa.string()),
        ("link", pa.string()),
        ("event_at", UTC_TS),
        ("actor", pa.string()),
        ("detail", pa.string()),
    ]
)
"""Alert history: event is firing | resolved (evaluations) or rule_added | rule_removed (audit)."""
