-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER, who owns
-- them: Dagster's run/event storage, the MLflow tracking store and registry, Optuna's studies, the API's users.
CREATE DATABASE dagster;
CREATE DATABASE mlflow;
CREATE DATABASE optuna;
CREATE DATABASE f1_users;
