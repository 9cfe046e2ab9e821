"""Raw API rows -> typed, cleaned tables (pure polars: no I/O, no Dagster)."""
