"""Lens ETL: exported agent spans -> canonical spans -> Parquet lake -> DuckDB views."""
