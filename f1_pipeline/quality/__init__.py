"""Data-quality suites (Great Expectations 1.x) over warehouse tables, independent of Dagster."""
