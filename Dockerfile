# syntax=docker/dockerfile:1
# One image for every f1-predict process; the command picks the role (deploy/README.md):
#   REST API (default)   uvicorn --factory f1_serving.main:create_app --host 0.0.0.0 --port 8000
#   code location        dagster api grpc -h 0.0.0.0 -p 4000 -m f1_pipeline.definitions (compose)
#                        dagster code-server start -h 0.0.0.0 -p 4000 -m f1_pipeline.definitions (Helm chart)
#   Dagster webserver    dagster-webserver -h 0.0.0.0 -p 3000 -w /opt/dagster/deploy/workspace.yaml
#   Dagster daemon       dagster-daemon run -w /opt/dagster/deploy/workspace.yaml
#   MLflow server        mlflow server ... --host 0.0.0.0 --port 5000
# There is no ENTRYPOINT on purpose: the Dagster Helm chart passes the whole code-server command as `args`.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never
RUN pip install "uv>=0.13.9,<0.14"
WORKDIR /src
COPY pyproject.toml uv.lock README.md LICENSE ./
COPY f1_pipeline ./f1_pipeline
COPY f1_serving ./f1_serving
# Exactly the versions of uv.lock, as `make setup` installs them, without the dev group. Not editable: the bundled
# Ergast data is package data and must end up inside site-packages. The production extra adds the PostgreSQL and
# Redis drivers, dagster-postgres, dagster-docker and dagster-k8s (the compose deployment's daemon starts run
# containers with DockerRunLauncher; run pods started by the Helm chart's K8sRunLauncher load an instance naming
# `dagster_k8s`).
RUN uv sync --locked --no-editable --no-dev --extra production

FROM ${PYTHON_IMAGE}
ARG APP_UID=10001
RUN groupadd --system --gid ${APP_UID} f1 \
    && useradd --system --uid ${APP_UID} --gid f1 --home-dir /opt/dagster --no-create-home f1
COPY --from=build /opt/venv /opt/venv

# The settings' path defaults are relative to the working directory; every one is pointed under /data instead,
# where the volumes go; compose and Kubernetes override the database and server locations.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    F1_WAREHOUSE_PATH=/data/warehouse/f1.duckdb \
    F1_SERVING_DIR=/data/serving \
    F1_OPTUNA_STORAGE=sqlite:////data/warehouse/optuna.db \
    F1_MLFLOW_TRACKING_URI=sqlite:////data/mlruns/mlflow.db \
    F1_MLFLOW_ARTIFACT_LOCATION=file:///data/mlruns/artifacts \
    F1_USERS_DATABASE_URL=sqlite:////data/users/users.db

# The compose deployment's Dagster instance (PostgreSQL from F1_DAGSTER_POSTGRES_URL, a container per run, run
# monitoring); the Helm chart mounts its own over it on Kubernetes.
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/workspace.yaml /opt/dagster/deploy/workspace.yaml
# Empty named volumes take the ownership of the image directory they are mounted on: create them owned by the
# app user so a fresh volume is writable without running as root.
RUN mkdir -p /data/warehouse /data/serving /data/mlruns /data/mlartifacts /data/users \
        /opt/dagster/dagster_home/storage \
    && chown -R f1:f1 /data /opt/dagster

USER ${APP_UID}:${APP_UID}
WORKDIR /opt/dagster
EXPOSE 4000 8000
CMD ["uvicorn", "--factory", "f1_serving.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
