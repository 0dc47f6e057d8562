"""The Cost screen's optimization-suggestion settings that the cost_savings rollup bakes in.

sql/rollups/cost_savings.sql groups requests by these prompt-size thresholds and looks for a
retry within this many seconds; the screen offers just these choices, so its numbers stay exact.
Change both together (a test compares them), then `python -m lens_etl rebuild`.
"""
SHORT_PROMPT_OPTIONS = (2_000, 5_000, 10_000, 20_000, 50_000)
RETRY_WITHIN_S = 300
