"""`make deploy-check`: the production compose stack built and run from scratch on this machine, checked from outside
the containers, then torn down. Prints a PASS/FAIL table; exits 1 when any check fails.

Standard library only (run by the system's python3): it talks to Docker through the `docker` and `docker compose`
commands, and to the services through their published ports on 127.0.0.1 (Dagster's GraphQL API, MLflow's REST
API, the two API replicas).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = (ROOT / "deploy" / "compose.yaml", ROOT / "deploy" / "check" / "compose.check.yaml")
PROJECT = "f1-predict-check"
IMAGE = "f1-predict:local"
DAGSTER = "http://127.0.0.1:3000/graphql"
MLFLOW = "http://127.0.0.1:5000"
REPLICAS = {"api": "http://127.0.0.1:8000", "api-2": "http://127.0.0.1:8001"}
OUR_SERVICES = ("mlflow", "code-location", "webserver", "daemon", "api", "api-2")
SEASONS = ("2023", "2026")  # as the tests' quick runs: 2023 gives the ratings a season to settle
LOCATION = {"repositoryLocationName": "f1_predict", "repositoryName": "__repository__"}
REGISTERED_MODEL = "f1-race-winner"
USER_BUDGET = 100  # F1_RATE_LIMIT_PER_MINUTE's default, which compose keeps


@dataclass
class Report:
    rows: list[tuple[str, bool, str, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, ok: bool, detail: str, seconds: float = 0.0) -> bool:
        self.rows.append((name, ok, detail, seconds))
        print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)
        return ok

    def check(self, name: str, step: Callable[[], str]) -> bool:
        """Runs a step; its return value is the detail of a pass, an exception the reason of a failure."""
        started = time.monotonic()
        try:
            detail, ok = step(), True
        except Exception as error:  # a failed check is reported, and the next one still runs
            detail, ok = f"{type(error).__name__}: {error}", False
        return self.record(name, ok, detail, time.monotonic() - started)

    def table(self) -> str:
        width = max(len(name) for name, *_ in self.rows)
        lines = [f"{'check':<{width}}  result  seconds  detail", "-" * (width + 40)]
        for name, ok, detail, seconds in self.rows:
            lines.append(f"{name:<{width}}  {'PASS' if ok else 'FAIL':<6}  {seconds:7.1f}  {detail}")
        failed = sum(not ok for _, ok, *_ in self.rows)
        lines.append(f"{len(self.rows) - failed} passed, {failed} failed")
        lines += [f"{name}: {seconds:.0f} s" for name, seconds in self.timings.items()]
        return "\n".join(lines)


class CheckFailedError(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailedError(message)


def run(*command: str, env: dict[str, str] | None = None, timeout: float = 1800, check: bool = True) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise CheckFailedError(f"{' '.join(command[:4])}... exited {result.returncode}: {result.stderr.strip()[-800:]}")
    return result.stdout


class Stack:
    """The compose project of the check: its own project name, so a stack of the same files run by hand is untouched."""

    def __init__(self, env_file: Path, images: dict[str, str]) -> None:
        self.env = {**os.environ, **images}
        self.base = ["docker", "compose", "-p", PROJECT, "--env-file", str(env_file)]
        for path in COMPOSE_FILES:
            self.base += ["-f", str(path)]

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return run(*self.base, *args, env=self.env, timeout=timeout, check=check)

    def run_containers(self) -> list[str]:
        """The run containers the DockerRunLauncher started for this project (labelled by compose.yaml's context)."""
        return run("docker", "ps", "-a", "-q", "--filter", f"label=f1-predict.project={PROJECT}").split()

    def down(self, *options: str) -> None:
        """Removes the project, first the run containers compose does not know, which hold its volumes and network."""
        containers = self.run_containers()
        if containers:
            run("docker", "rm", "-f", *containers, check=False)
        self.compose("down", "-v", "--remove-orphans", *options, check=False)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-a", "-q", service).split()
        expect(len(ids) == 1, f"expected one container of {service}, found {ids}")
        return ids[0]

    def inspect(self, service: str) -> dict[str, Any]:
        return json.loads(run("docker", "inspect", self.container(service)))[0]

    def health(self, service: str) -> str:
        state = self.inspect(service)["State"]
        return str(state.get("Health", {}).get("Status", state["Status"]))

    def wait_healthy(self, services: tuple[str, ...], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {service: self.health(service) for service in services}
            if all(state == "healthy" for state in states.values()):
                return
            expect(time.monotonic() < deadline, f"not healthy after {timeout:.0f} s: {states}")
            time.sleep(3)

    def psql(self, database: str, sql: str) -> str:
        return self.compose("exec", "-T", "postgres", "psql", "-U", "f1", "-d", database, "-tAc", sql).strip()


def http(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """Status and body (JSON when it is JSON); a refused connection is status 0."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(what: str, probe: Callable[[], bool], timeout: float, every: float = 2) -> float:
    """Seconds until `probe` holds."""
    started = time.monotonic()
    while not probe():
        expect(time.monotonic() - started < timeout, f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started


def graphql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    status, body = http("POST", DAGSTER, {"query": query, "variables": variables}, timeout=60)
    expect(status == 200 and isinstance(body, dict) and "errors" not in body, f"GraphQL {status}: {body}")
    return dict(body["data"])


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""
RUNS_COUNT = "query { runsOrError { __typename ... on Runs { results { runId } } } }"
RUN_STATUS = "query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }"
RUN_TAGS = "query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { tags { key value } } } }"
RUN_CONTAINER_TAG = "docker/container_id"  # written by the DockerRunLauncher when it starts a run's container
RUN_EVENTS = """
query Events($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on AssetCheckEvaluationEvent { evaluation { checkName success severity } }
        ... on MaterializationEvent { assetKey { path } metadataEntries { label } }
        ... on MessageEvent { message }
      }
    }
  }
}"""


def launch_main() -> str:
    """The `main` job over SEASONS, as the UI's Materialize does: a run request to the webserver, queued."""
    tags = [
        {"key": "dagster/asset_partition_range_start", "value": SEASONS[0]},
        {"key": "dagster/asset_partition_range_end", "value": SEASONS[1]},
    ]
    params = {"selector": {**LOCATION, "jobName": "main"}, "executionMetadata": {"tags": tags}}
    result = graphql(LAUNCH, {"params": params})["launchPipelineExecution"]
    expect(result["__typename"] == "LaunchRunSuccess", f"launch refused: {result}")
    return str(result["run"]["runId"])


def run_status(run_id: str) -> str:
    return str(graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"])


def run_container(run_id: str) -> str:
    tags = {tag["key"]: tag["value"] for tag in graphql(RUN_TAGS, {"runId": run_id})["runOrError"]["tags"]}
    expect(RUN_CONTAINER_TAG in tags, f"run {run_id} names no container: {sorted(tags)}")
    return tags[RUN_CONTAINER_TAG]


def wait_run(run_id: str, done: set[str], timeout: float) -> tuple[str, list[str]]:
    """The run's final status and every status seen on the way (polled every 2 s)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        status = run_status(run_id)
        if not seen or seen[-1] != status:
            seen.append(status)
            print(f"  run {run_id[:8]}: {status}", flush=True)
        if status in done:
            return status, seen
        expect(time.monotonic() < deadline, f"run {run_id} still {status} after {timeout:.0f} s")
        time.sleep(2)


def run_events(run_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = graphql(RUN_EVENTS, {"runId": run_id, "cursor": cursor})["logsForRun"]
        expect(page["__typename"] == "EventConnection", f"events of {run_id}: {page}")
        events += page["events"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            return events


def mlflow(path: str, **query: str) -> dict[str, Any]:
    status, body = http("GET", f"{MLFLOW}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}")
    expect(status == 200 and isinstance(body, dict), f"MLflow {path}: {status} {body}")
    return dict(body)


def register(base: str) -> tuple[str, str, str]:
    email = f"deploy-check-{secrets.token_hex(4)}@example.com"
    password = "Check-" + secrets.token_hex(8)
    status, body = http("POST", f"{base}/api/v1/auth/register", {"email": email, "password": password})
    expect(status == 201, f"register on {base}: {status} {body}")
    return email, password, str(body["access_token"])


def next_race(base: str, token: str) -> dict[str, Any]:
    status, body = http("GET", f"{base}/api/v1/predictions/next-race", token=token)
    expect(status == 200 and isinstance(body, dict), f"next race on {base}: {status} {str(body)[:300]}")
    return dict(body)


def race_summary(body: dict[str, Any]) -> str:
    """What two replicas serving the same publication and champion must agree on."""
    text = json.dumps(body, sort_keys=True)
    keys = sorted(body)
    return f"{len(text)} bytes, keys {keys[:6]}"


def ready(base: str) -> tuple[int, Any]:
    return http("GET", f"{base}/api/v1/health/ready")


def new_window_soon() -> None:
    """Waits for a fresh rate-limit window when fewer than 25 s are left in this one (fixed one-minute windows)."""
    left = 60 - time.time() % 60
    if left < 25:
        time.sleep(left + 0.5)


@contextmanager
def stack_env() -> Iterator[Path]:
    """A throw-away env file with fresh secrets and the group of this host's Docker socket (the daemon starts the run
    containers through it): nothing of the check depends on a deploy/.env of the user's."""
    docker_gid = Path("/var/run/docker.sock").stat().st_gid
    with tempfile.TemporaryDirectory(prefix="f1-deploy-check-") as folder:
        path = Path(folder) / "check.env"
        path.write_text(
            f"POSTGRES_PASSWORD={secrets.token_hex(24)}\nF1_SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"DOCKER_GID={docker_gid}\n"
        )
        yield path


def base_images() -> dict[str, str]:
    output = run(str(ROOT / "deploy" / "local-images" / "build.sh"), timeout=1800)
    images = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    expect(set(images) == {"PYTHON_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE"}, f"base images: {output}")
    return images


def build_image(python_image: str) -> str:
    """`docker build`, with BuildKit when the buildx plugin is there; the host's proxy variables are passed on (Docker
    predefines them as build arguments), so package downloads in the build go where the host's go."""
    buildkit = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False).returncode == 0
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    args = ["--build-arg", f"PYTHON_IMAGE={python_image}"]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(name):
            args += ["--build-arg", name]
    run("docker", "build", "--pull=false", *args, "-t", IMAGE, str(ROOT), env=env, timeout=1800)
    run("docker", "image", "prune", "-f", "--filter", "label!=keep", timeout=120)
    size = int(run("docker", "image", "inspect", "-f", "{{.Size}}", IMAGE).strip())
    return f"{IMAGE} {size / 1e6:.0f} MB ({'BuildKit' if buildkit else 'classic builder'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the stack up (and its volumes) at the end")
    parser.add_argument("--run-timeout", type=float, default=1200, help="seconds a pipeline run may take")
    options = parser.parse_args()
    report = Report()
    started = time.monotonic()
    for tool in ("docker",):
        if shutil.which(tool) is None:
            print(f"deploy check: {tool} is not installed", file=sys.stderr)
            return 1
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0:
        print("deploy check: `docker compose` (v2) is not available", file=sys.stderr)
        return 1

    images: dict[str, str] = {}

    def make_base_images() -> str:
        images.update(base_images())
        return ", ".join(images.values())

    step = time.monotonic()
    if not report.check("base images", make_base_images):
        print(report.table())
        return 1
    report.timings["base images"] = time.monotonic() - step

    step = time.monotonic()
    if not report.check("image build", lambda: build_image(images["PYTHON_IMAGE"])):
        print(report.table())
        return 1
    report.timings["image build"] = time.monotonic() - step

    with stack_env() as env_file:
        stack = Stack(env_file, images)
        stack.down()
        try:
            checks(stack, report, options.run_timeout)
        finally:
            if not options.keep:
                stack.down("--timeout", "20")
    report.timings["whole check"] = time.monotonic() - started
    print()
    print(report.table())
    return 0 if all(ok for _, ok, *_ in report.rows) else 1


def checks(stack: Stack, report: Report, run_timeout: float) -> None:
    state: dict[str, Any] = {}

    def start() -> str:
        begun = time.monotonic()
        stack.compose("up", "-d", "--no-build", timeout=900)
        stack.wait_healthy(("postgres", "redis", "mlflow", "code-location", "webserver", "daemon"), timeout=600)
        for base in REPLICAS.values():
            wait_for(f"{base} live", lambda base=base: http("GET", f"{base}/api/v1/health")[0] == 200, 180)
        report.timings["stack start-up"] = time.monotonic() - begun
        return f"every service up, the Dagster and MLflow ones healthy, in {time.monotonic() - begun:.0f} s"

    if not report.check("stack up from scratch", start):
        print(stack.compose("ps", "-a", check=False))
        print(stack.compose("logs", "--tail", "40", check=False))
        return

    def non_root() -> str:
        users = {}
        for service in OUR_SERVICES:
            uid = run("docker", "exec", stack.container(service), "id", "-u").strip()
            users[service] = uid
            expect(uid != "0", f"{service} runs as root")
        return f"uid {sorted(set(users.values()))} in {', '.join(OUR_SERVICES)}"

    report.check("containers run as the non-root user", non_root)

    def not_ready_before_a_run() -> str:
        for service, base in REPLICAS.items():
            status, body = ready(base)
            expect(status == 503 and body["ready"] is False, f"{service} ready before any run: {status} {body}")
        # the container health check is the readiness probe: it must not say healthy either
        states = {service: stack.health(service) for service in REPLICAS}
        expect("healthy" not in states.values(), f"API containers healthy with nothing to serve: {states}")
        return f"/health/ready 503 on both replicas, container health {states}"

    report.check("API health check means readiness", not_ready_before_a_run)

    def main_run() -> str:
        begun = time.monotonic()
        run_id = launch_main()
        state["run"] = run_id
        status, seen = wait_run(run_id, {"SUCCESS", "FAILURE", "CANCELED"}, run_timeout)
        report.timings["main run (seasons 2023-2026)"] = time.monotonic() - begun
        expect(status == "SUCCESS", f"run {run_id} ended {status} (statuses {seen})")
        expect(seen[0] in {"QUEUED", "NOT_STARTED"}, f"the run did not go through the queue: {seen}")
        return f"run {run_id} {' -> '.join(seen)} in {time.monotonic() - begun:.0f} s"

    if not report.check("main job launched via GraphQL runs in the daemon's queue", main_run):
        print(stack.compose("logs", "--tail", "80", "code-location", "daemon", check=False))
        return

    def run_in_the_ui() -> str:
        events = run_events(state["run"])
        evaluations = [e["evaluation"] for e in events if e["__typename"] == "AssetCheckEvaluationEvent"]
        materializations = [e for e in events if e["__typename"] == "MaterializationEvent"]
        with_metadata = [e for e in materializations if e["metadataEntries"]]
        failed = [e["checkName"] for e in evaluations if not e["success"] and e["severity"] == "ERROR"]
        # WARN checks judge the model's quality: with the check's two training seasons the candidate may well not
        # beat the baselines; that is reported, not a deployment failure
        warned = sorted(e["checkName"] for e in evaluations if not e["success"] and e["severity"] == "WARN")
        expect(len(evaluations) > 0, "no asset check evaluated")
        expect(not failed, f"blocking (ERROR) asset checks failed: {failed}")
        expect(len(with_metadata) > 0, "no materialization with metadata")
        assets = {"/".join(e["assetKey"]["path"]) for e in materializations}
        return (
            f"{len(materializations)} materializations of {len(assets)} assets ({len(with_metadata)} with metadata), "
            f"{len(evaluations) - len(warned)} of {len(evaluations)} asset checks passed, every blocking one; "
            f"WARN on the small training setup: {warned or 'none'}"
        )

    report.check("run, asset checks and metadata visible via GraphQL", run_in_the_ui)

    def mlflow_registry() -> str:
        model = mlflow("registered-models/get", name=REGISTERED_MODEL)["registered_model"]
        alias = mlflow("registered-models/alias", name=REGISTERED_MODEL, alias="champion")["model_version"]
        version = mlflow("model-versions/get", name=REGISTERED_MODEL, version=alias["version"])["model_version"]
        experiments = mlflow("experiments/search", max_results="100")["experiments"]
        status, body = http(
            "POST",
            f"{MLFLOW}/api/2.0/mlflow/runs/search",
            {"experiment_ids": [e["experiment_id"] for e in experiments], "max_results": 1000},
        )
        expect(status == 200, f"runs/search {status} {body}")
        runs = body.get("runs", [])
        expect(any(r["info"]["run_id"] == version["run_id"] for r in runs), "the champion's run is not on the server")
        state["champion"] = alias["version"]
        return (
            f"{model['name']} champion = version {alias['version']} (run {version['run_id'][:8]}); "
            f"{len(runs)} runs in {len(experiments)} experiments"
        )

    report.check("MLflow server holds the run, the model and the champion alias", mlflow_registry)

    def replicas_agree() -> str:
        for base in REPLICAS.values():
            wait_for(f"{base} ready", lambda base=base: ready(base)[0] == 200, 120)
        states = {}
        for service in REPLICAS:
            # the compose health check passes only after its next interval: 3 intervals of 15 s at most
            wait_for(f"{service} healthy", lambda service=service: stack.health(service) == "healthy", 60)
            states[service] = stack.health(service)
        _, _, token = register(REPLICAS["api"])
        state["token"] = token
        answers = {service: next_race(base, token) for service, base in REPLICAS.items()}
        versions = {service: ready(base)[1]["model_version"] for service, base in REPLICAS.items()}
        expect(answers["api"] == answers["api-2"], "the replicas answer the next race differently")
        expect(len(set(versions.values())) == 1, f"different model versions: {versions}")
        expect(str(versions["api"]) == str(state.get("champion")), f"served {versions} != champion {state}")
        for service, base in REPLICAS.items():
            status, page = http("GET", f"{base}/")
            expect(status == 200 and isinstance(page, str) and "<html" in page.lower(), f"{service} dashboard {status}")
        wins = sum(float(entrant["probability"]) for entrant in answers["api"]["predictions"])
        expect(abs(wins - 1) < 1e-6, f"win chances sum to {wins}")
        return (
            f"both ready ({states}), champion v{versions['api']}, identical next-race answers "
            f"({race_summary(answers['api'])}, win chances sum {wins:.3f}), dashboard 200 on both; "
            "a token from one replica accepted by the other"
        )

    if not report.check("both API replicas ready and serving the same answers", replicas_agree):
        print(stack.compose("logs", "--tail", "60", "api", "api-2", check=False))

    def shared_budget() -> str:
        _, _, token = register(REPLICAS["api"])
        new_window_soon()
        bases = list(REPLICAS.values())
        statuses = [http("GET", f"{bases[i % 2]}/api/v1/users/me", token=token)[0] for i in range(USER_BUDGET)]
        expect(statuses == [200] * USER_BUDGET, f"within the budget: {sorted(set(statuses))}")
        refused = {
            service: http("GET", f"{base}/api/v1/users/me", token=token)[0] for service, base in REPLICAS.items()
        }
        expect(set(refused.values()) == {429}, f"request 101+ answered {refused}")
        return f"{USER_BUDGET} requests alternating replicas: 200; the 101st and 102nd: {refused}"

    report.check("per-user budget shared through Redis", shared_budget)

    def accounts_in_postgres() -> str:
        email, password, _ = register(REPLICAS["api-2"])
        state["account"] = (email, password)
        count = stack.psql("f1_users", f"SELECT count(*) FROM users WHERE email = '{email}'")
        expect(count == "1", f"{email} rows in PostgreSQL f1_users.users: {count}")
        status, _ = http("POST", f"{REPLICAS['api']}/api/v1/auth/login", {"email": email, "password": password})
        expect(status == 200, f"login on the other replica: {status}")
        total = stack.psql("f1_users", "SELECT count(*) FROM users")
        return f"registered on api-2, row in f1_users.users ({total} accounts), login on api works"

    report.check("accounts live in PostgreSQL", accounts_in_postgres)

    def replica_killed() -> str:
        victim, survivor = "api", REPLICAS["api-2"]
        container = stack.container(victim)
        restarts = stack.inspect(victim)["RestartCount"]
        pid = stack.inspect(victim)["State"]["Pid"]
        # `docker kill` is a stop by hand to Docker (no restart policy applies to it); a crash is what the policy is
        # for, so the replica's process tree is killed from the host, as the kernel's OOM killer would
        run("kill", "-9", str(pid))
        answers = [next_race(survivor, state["token"]) for _ in range(5)]
        expect(len(answers) == 5, "the survivor did not answer")
        wait_for("api restarted", lambda: stack.inspect(victim)["RestartCount"] > restarts, 60)
        back = wait_for("api ready again", lambda: ready(REPLICAS[victim])[0] == 200, 120)
        expect(stack.container(victim) == container, "a new container, not a restart")
        return f"api-2 answered while api was down; api restarted by its policy and ready again in {back:.0f} s"

    report.check("API replica killed: the other answers, it comes back", replica_killed)

    def docker_kill() -> str:
        victim = "api-2"
        run("docker", "kill", stack.container(victim))
        time.sleep(5)
        status = stack.inspect(victim)["State"]["Status"]
        answer = next_race(REPLICAS["api"], state["token"])
        expect(bool(answer), "api did not answer")
        if status != "running":
            stack.compose("start", victim)
        wait_for("api-2 ready again", lambda: ready(REPLICAS[victim])[0] == 200, 120)
        how = "restarted by its policy" if status == "running" else f"left {status} by Docker (a kill by hand), started"
        return f"`docker kill api-2`: api kept answering; api-2 {how}, ready again"

    report.check("`docker kill` of a replica", docker_kill)

    def postgres_restarted() -> str:
        email, password = state["account"]
        stack.compose("stop", "postgres", timeout=120)
        try:  # PostgreSQL is started again whatever this finds, so the checks after this one stay meaningful
            login_down, _ = http("POST", f"{REPLICAS['api']}/api/v1/auth/login", {"email": email, "password": password})
            served_down = http("GET", f"{REPLICAS['api']}/api/v1/predictions/next-race", token=state["token"])[0]
        finally:
            stack.compose("start", "postgres", timeout=120)
        expect(login_down == 503, f"login without PostgreSQL answered {login_down}")
        expect(served_down in {200, 503}, f"next race without PostgreSQL answered {served_down}")
        stack.wait_healthy(("postgres",), timeout=120)
        back = wait_for(
            "login again",
            lambda: (
                http("POST", f"{REPLICAS['api']}/api/v1/auth/login", {"email": email, "password": password})[0] == 200
            ),
            90,
        )
        alias = mlflow("registered-models/alias", name=REGISTERED_MODEL, alias="champion")["model_version"]
        expect(alias["version"] == state["champion"], f"champion changed: {alias['version']}")
        for base in REPLICAS.values():
            wait_for(f"{base} ready", lambda base=base: ready(base)[0] == 200, 120)
        # Dagster's webserver keeps one pooled connection per storage without a liveness ping: the first query on
        # a connection from before the restart fails, and the pool is renewed for the next one
        # (run storage, event log storage: what a launch writes to), so each is probed until it answers
        failures = []
        for query, variables in ((RUNS_COUNT, {}), (RUN_EVENTS, {"runId": state["run"], "cursor": None})):
            for _ in range(5):
                status, body = http("POST", DAGSTER, {"query": query, "variables": variables}, timeout=60)
                data = (body.get("data") or {}) if isinstance(body, dict) else {}
                if (
                    status == 200
                    and data
                    and all((v or {}).get("__typename") in {"Runs", "EventConnection"} for v in data.values())
                ):
                    break
                failures.append(status)
            else:
                raise CheckFailedError(f"the Dagster webserver did not recover: {failures}")
        runs = len(graphql(RUNS_COUNT, {})["runsOrError"]["results"])
        return (
            f"while down: login {login_down}, next race {served_down}; after the restart: the same account logs in "
            f"({back:.0f} s), champion still v{alias['version']}, both replicas ready; Dagster webserver lists "
            f"{runs} runs (after {len(failures)} failed queries on its stale pooled connection)"
        )

    report.check("PostgreSQL restarted: API degrades and recovers, nothing lost", postgres_restarted)

    def redis_stopped() -> str:
        stack.compose("stop", "redis", timeout=60)
        try:
            answers = {s: http("GET", f"{b}/api/v1/users/me", token=state["token"])[0] for s, b in REPLICAS.items()}
            expect(set(answers.values()) == {200}, f"without Redis: {answers}")
            degraded = {s: ready(b)[1].get("degraded") for s, b in REPLICAS.items()}
            expect(all(degraded.values()), f"readiness does not say it is degraded: {degraded}")
        finally:
            stack.compose("start", "redis", timeout=60)
        stack.wait_healthy(("redis",), timeout=60)
        wait_for(
            "degraded cleared",
            lambda: all(not ready(b)[1].get("degraded") for b in REPLICAS.values()),
            60,
        )
        return f"without Redis: 200 on both, readiness degraded {degraded}; cleared once Redis is back"

    report.check("Redis stopped: API serves with local budgets", redis_stopped)

    def run_container_killed() -> str:
        run_id = launch_main()
        wait_run(run_id, {"STARTED", "SUCCESS", "FAILURE"}, 300)
        time.sleep(20)  # into its steps
        container = run_container(run_id)
        run("docker", "kill", container)
        # the daemon's run monitoring asks Docker about the run's container every 20 s (deploy/dagster.yaml) and
        # fails the run once it is gone: 4 minutes is ample
        status, seen = wait_run(run_id, {"SUCCESS", "FAILURE", "CANCELED"}, 240)
        expect(status == "FAILURE", f"killed run ended {status}")
        begun = time.monotonic()
        next_id = launch_main()
        state["next run"] = next_id
        next_status, _ = wait_run(next_id, {"STARTED", "SUCCESS", "FAILURE", "CANCELED"}, 300)
        expect(next_status == "STARTED", f"the next run {next_id} did not start: {next_status}")
        return (
            f"run {run_id[:8]} {' -> '.join(seen)} (its container {container[:12]} killed); "
            f"next run {next_id[:8]} started in {time.monotonic() - begun:.0f} s"
        )

    if not report.check("run container killed: the run is failed, the next one starts", run_container_killed):
        return

    def code_location_killed() -> str:
        run_id = state["next run"]
        time.sleep(20)  # into its steps
        run("docker", "kill", stack.container("code-location"))
        time.sleep(3)
        if stack.inspect("code-location")["State"]["Status"] != "running":
            stack.compose("start", "code-location")
        status, seen = wait_run(run_id, {"SUCCESS", "FAILURE", "CANCELED"}, run_timeout)
        expect(status == "SUCCESS", f"the run ended {status} after its code location was killed")
        stack.wait_healthy(("code-location",), timeout=300)
        # each run container is removed once its run has ended (auto_remove in deploy/dagster.yaml)
        gone = wait_for("run containers removed", lambda: not stack.run_containers(), 60)
        return (
            f"run {run_id[:8]} {' -> '.join(seen)} while the code location was killed and restarted; "
            f"its container removed {gone:.0f} s after"
        )

    report.check("code location killed during a run: the run goes on and succeeds", code_location_killed)


if __name__ == "__main__":
    sys.exit(main())
