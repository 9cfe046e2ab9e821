"""Pure modelling code: ratings, features, models, metrics. No Dagster, MLflow or DuckDB imports here."""
