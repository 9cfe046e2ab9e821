"""f1-predict pipeline: Ergast data -> clean tables -> ratings -> features -> models -> predictions."""
