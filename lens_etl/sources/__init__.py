"""Extract: each source yields bounded batches of raw records (source_file, line, doc)."""
