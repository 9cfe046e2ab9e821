"""A run of a job created against the workspace's code location, then executed in this process.

`dagster job execute` makes a run with no code-location origin: the UI lists it under Runs but neither under its job
nor on the Overview timeline. A run created with the origin the webserver loads from `workspace.yaml` carries the
repository label the UI filters by, so it shows under its job like a run launched from the UI. Executing it here
(rather than through the run queue, which needs the daemon) lets the command follow its events as they happen.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.execution.api import execute_run_iterator
from dagster._core.remote_origin import (
    CodeLocationOrigin,
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._utils.hosted_user_process import recon_job_from_origin

from f1_pipeline.cli.progress import stage_of
from f1_pipeline.run_liveness import HOST_TAG, this_host

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config keeping Dagster's console to warnings and errors: the command prints a line per stage instead, and
the whole event log stays in the UI."""


def code_location_origin(workspace: Path) -> CodeLocationOrigin:
    """The one code location `workspace` declares, as the webserver and the daemon load it."""
    if not workspace.is_file():
        raise FileNotFoundError(f"no workspace file at {workspace}")
    origins = location_origins_from_yaml_paths([str(workspace)])
    if len(origins) != 1:
        names = ", ".join(origin.location_name for origin in origins) or "none"
        raise ValueError(f"{workspace} must declare exactly one code location, found: {names}")
    return origins[0]


def create_run(
    instance: dg.DagsterInstance,
    origin: CodeLocationOrigin,
    job_name: str,
    tags: Mapping[str, str],
    *,
    quiet: bool = True,
) -> tuple[ReconstructableJob, dg.DagsterRun]:
    """The job loaded from the location's code, and a new run of it that names the workspace's location as its
    origin (the label `<repository>@<location>` is what the UI groups runs under a job by), and this machine as its
    host: the run is executed here, so the `dead_run_monitor` sensor may judge its process on any storage."""
    in_process = InProcessCodeLocationOrigin(origin.loadable_target_origin, location_name=origin.location_name)
    with in_process.create_location(instance) as location:
        (repository,) = location.get_repositories().values()
        if not repository.has_job(job_name):
            known = sorted(remote.name for remote in repository.get_all_jobs())
            raise ValueError(f"no job {job_name!r} in {origin.location_name}; its jobs: {', '.join(known)}")
        job_code_origin = repository.get_full_job(job_name).get_python_origin()
        repository_name = repository.name
    job = recon_job_from_origin(job_code_origin)
    run = instance.create_run_for_job(
        job.get_definition(),
        tags={**tags, HOST_TAG: this_host()},
        run_config=QUIET if quiet else {},
        remote_job_origin=RemoteJobOrigin(RemoteRepositoryOrigin(origin, repository_name), job_name),
        job_code_origin=job_code_origin,
    )
    return job, run


def execute(
    job: ReconstructableJob, run: dg.DagsterRun, instance: dg.DagsterInstance
) -> Generator[dg.DagsterEvent, None, None]:
    """Every event of the run as it happens; the run's status and event log land in the instance as usual."""
    yield from execute_run_iterator(job, run, instance)


def step_stages(job: dg.JobDefinition) -> dict[str, str]:
    """Each step (an asset, or an asset check) and the stage it belongs to: its asset's group, see `stage_of`."""
    graph = job.asset_layer.asset_graph
    stages: dict[str, str] = {}
    for assets in graph.assets_defs:
        if not assets.is_executable:
            continue  # an upstream asset outside the job's selection: no step of this run
        keys = list(assets.keys) or [check.asset_key for check in assets.check_keys]
        if keys:
            owner = keys[0]
            stages[assets.node_def.name] = stage_of(owner.path[-1], graph.get(owner).group_name)
    return stages
