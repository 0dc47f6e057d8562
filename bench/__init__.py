"""Benchmarks: synthetic exports and lakes, and the runner that measures ingest, queries and pages."""
