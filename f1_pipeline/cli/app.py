"""`f1-predict`: thin wiring from commands to the pipeline, the registry and the servers; what is printed is built in
`views`, what is run in `workspace_run`."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from f1_pipeline.cli import servers, sources, views
from f1_pipeline.cli.progress import RunProgress
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.settings import PipelineSettings, working_directory_path
from f1_pipeline.tables import CHAMPIONSHIP_ODDS, NEXT_RACE, PROMOTIONS, RACE_PREDICTIONS, RACES
from f1_pipeline.warehouse import MissingTableError
from f1_serving.freshness import freshness

if TYPE_CHECKING:
    import dagster as dg

WORKSPACE = "workspace.yaml"
DAGSTER_HOME = "dagster_home"
"""Both in the working directory, like every default location (f1_pipeline/settings.py): the project's root."""
HOST = "127.0.0.1"
DAGSTER_PORT, MLFLOW_PORT, API_PORT = 3000, 5000, 8000
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}

app = typer.Typer(
    help="F1 race-winner predictions: run the pipeline, read its predictions, open the UIs and the API.",
    no_args_is_help=True,
    add_completion=False,
)
registry_app = typer.Typer(
    help="The MLflow registry's versions and its `champion` alias. Exit codes: 0 the alias is on VERSION, 1 the gate "
    "refused, 2 nothing was decided, 3 the decision was recorded but the alias did not move (run it again).",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")
console = Console()


def main() -> None:
    app()


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _dagster_home() -> dict[str, str]:
    """The instance in `dagster_home/` unless DAGSTER_HOME names another, for this process and the ones it starts."""
    os.environ.setdefault("DAGSTER_HOME", str(working_directory_path(DAGSTER_HOME)))
    return dict(os.environ)


@app.command()
def run(
    seasons: Annotated[
        str, typer.Option(help="FIRST...LAST season (or one season); every season to this year by default.")
    ] = f"1950...{datetime.now(UTC).year}",
    job: Annotated[
        str, typer.Option(help="The Dagster job: main, or ingest_and_clean, train, post_qualifying.")
    ] = "main",
    verbose: Annotated[bool, typer.Option(help="Also print Dagster's event log, step by step.")] = False,
) -> None:
    """Run the pipeline over the seasons given: a line per stage, then a summary of what it produced.

    The run is tagged with the workspace's code location, so the Dagster UI lists it under its job; Dagster's own
    event log stays in the UI (or here with --verbose). Ctrl-C fails the run ("interrupted") and exits with 1."""
    # Imported here, not at the top: the other commands answer without loading Dagster.
    import dagster as dg

    from f1_pipeline.cli import workspace_run
    from f1_pipeline.defs.partitions import season_partitions

    try:
        first, last = views.parse_seasons(seasons)
    except ValueError as error:
        raise _fail(str(error), 2) from error
    known = season_partitions.get_partition_keys()
    if str(first) not in known or str(last) not in known:
        raise _fail(f"seasons run from {known[0]} to {known[-1]}; got {first}-{last}", 2)
    _dagster_home()
    try:
        location = workspace_run.code_location(working_directory_path(WORKSPACE))
        progress = RunProgress(workspace_run.step_stages(workspace_run.location_job(location.module_name, job)))
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error), 2) from error
    partitions = {"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": str(last)}
    tags = workspace_run.run_tags(location, partitions)

    def started(run_id: str) -> None:
        console.print(
            f"run {run_id} of {job}, seasons {first}-{last} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})",
            highlight=False,
            soft_wrap=True,
        )

    def printed(event: dg.DagsterEvent) -> None:
        line = _progress_line(progress, event)
        if line:
            console.print(line, highlight=False, soft_wrap=True)

    with dg.DagsterInstance.get() as instance:
        with workspace_run.following(instance, job, tags, started, printed) as followed:
            try:
                result = workspace_run.execute(instance, location, job, tags, quiet=not verbose)
                run_id, succeeded = result.run_id, result.success
            except dg.DagsterExecutionInterruptedError:  # a repeated Ctrl-C that reached Dagster's teardown
                if followed.run_id is None:
                    raise _fail("interrupted before the run was recorded", 1) from None
                run_id, succeeded = followed.run_id, False
        recorded = instance.get_run_by_id(run_id)
        if recorded is not None and not recorded.is_finished:  # the teardown was cut before it recorded the end
            instance.report_run_failed(recorded, message="Run failed: interrupted (Ctrl-C).")
    summary = _summary(run_id, job, succeeded, progress, (first, last))
    console.print(views.summary_view(summary, _links()), soft_wrap=True)
    if not succeeded:
        raise typer.Exit(1)


def _progress_line(progress: RunProgress, event: dg.DagsterEvent) -> str | None:
    import dagster as dg

    if event.step_key is None:
        return None
    if event.event_type == dg.DagsterEventType.STEP_START:
        return progress.step_started(event.step_key)
    if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
        return progress.step_ended(event.step_key, succeeded=True)
    if event.event_type == dg.DagsterEventType.STEP_FAILURE:
        line = progress.step_ended(event.step_key, succeeded=False)
        error = event.step_failure_data.error if event.step_failure_data else None
        return f"{line}\n{error.message.strip()}" if line and error else line
    return None


def _summary(
    run_id: str, job: str, succeeded: bool, progress: RunProgress, seasons: tuple[int, int]
) -> views.RunSummary:
    settings = PipelineSettings()
    races = sources.optional_table(settings, RACES)
    next_race = sources.optional_table(settings, NEXT_RACE)
    return views.RunSummary(
        run_id=run_id,
        job=job,
        succeeded=succeeded,
        seconds=progress.elapsed(),
        seasons=seasons,
        failed_stages=progress.failed(),
        unfinished_stages=progress.unfinished(),
        races=None if races is None else views.completed_races(races),
        champion_version=sources.champion_version(settings),
        next_race=None if next_race is None else views.next_race_of(next_race),
    )


def _links() -> views.Links:
    return views.Links(
        dagster=f"http://{HOST}:{DAGSTER_PORT}", mlflow=f"http://{HOST}:{MLFLOW_PORT}", api=f"http://{HOST}:{API_PORT}"
    )


@app.command()
def predict(
    race: Annotated[
        str, typer.Option(help="`next`, or SEASON/ROUND of a race the champion was backtested on.")
    ] = "next",
    mode: Annotated[
        Mode | None, typer.Option(help="pre_qualifying or post_qualifying; the latest the race has by default.")
    ] = None,
) -> None:
    """The champion's chances for every driver of a race (win, podium, points, and not classified when published),
    most likely winner first; a warning line when the data is behind the calendar."""
    try:
        chosen = views.parse_race(race)
        source = sources.predictions(PipelineSettings(), NEXT_RACE if chosen is None else RACE_PREDICTIONS)
        rows = views.one_race(source.frame, chosen)
        shown = views.choose_mode(rows, mode)
    except ValueError as error:
        raise _fail(str(error), 2) from error
    except LookupError as error:  # MissingTableError included
        raise _fail(str(error)) from error
    console.print(views.predictions_table(rows, shown))
    first = rows.row(0, named=True)
    _warn_if_stale(source, (first["season"], first["round"]))
    console.print(f"from the {source.where}", style="dim", highlight=False, soft_wrap=True)


def _warn_if_stale(source: sources.Source, race: tuple[int, int] | None) -> None:
    if source.calendar is None:
        return
    warning = views.freshness_warning(freshness(source.calendar, datetime.now(UTC).date()), race)
    if warning is not None:
        console.print(warning, style="bold yellow", highlight=False, soft_wrap=True)


@app.command()
def championship() -> None:
    """The championship odds table, once the pipeline has materialized it."""
    try:
        odds = sources.predictions(PipelineSettings(), CHAMPIONSHIP_ODDS)
    except MissingTableError as error:
        raise _fail(f"the championship odds have not been materialized yet: {error}") from error
    for table in views.championship_tables(odds.frame):
        console.print(table)
    _warn_if_stale(odds, None)
    console.print(f"from the {odds.where}", style="dim", highlight=False, soft_wrap=True)


def _start(argv: list[str], environment: Mapping[str, str] | None = None) -> None:
    """Run a server in the foreground until it stops; exit with its code.

    The server runs in a process group of its own and this process passes it SIGINT and SIGTERM: a terminal's Ctrl-C
    then reaches it once (not once from the terminal and again from here), and a SIGTERM to `f1-predict` (a service
    manager, `kill`) stops the server too instead of leaving it on the port."""
    console.print(" ".join(argv[2:]), style="dim", highlight=False, soft_wrap=True)
    server = subprocess.Popen(argv, env={**_dagster_home(), **(environment or {})}, process_group=0)

    def forward(signal_number: int, _frame: object) -> None:
        server.send_signal(signal_number)

    previous = {number: signal.signal(number, forward) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = server.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    raise typer.Exit(128 - code if code < 0 else code)  # killed by a signal: the shell's convention


@app.command(context_settings=PASS_THROUGH)
def serve(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = API_PORT,
) -> None:
    """The REST API and the dashboard (uvicorn on the app factory); further options go to uvicorn."""
    _start(servers.api(host, port, context.args))


@app.command(context_settings=PASS_THROUGH)
def ui(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DAGSTER_PORT,
) -> None:
    """The Dagster UI and daemon (`dagster dev`) on the workspace; further options go to `dagster dev`."""
    _start(servers.dagster(working_directory_path(WORKSPACE), host, port, context.args))


@app.command()
def mlflow(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = MLFLOW_PORT,
) -> None:
    """The MLflow UI over the tracking store the pipeline writes (F1_MLFLOW_TRACKING_URI)."""
    _start(servers.mlflow(PipelineSettings().mlflow_tracking_uri, host, port), servers.MLFLOW_UI_ENVIRONMENT)


@registry_app.command("show")
def registry_show() -> None:
    """Every registered version, its aliases and evaluation (JSON)."""
    from f1_pipeline.cli import registry_commands

    raise typer.Exit(registry_commands.show(PipelineSettings()))


@registry_app.command("promote")
def registry_promote(
    version: str,
    force: Annotated[
        bool, typer.Option(help="Override the gate: move the alias without comparing (recorded as manual_promotion).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why the gate is overridden; required with --force.")] = None,
) -> None:
    """Move `champion` to VERSION only if it beats the champion on the same walk-forward (the gate the pipeline
    applies); exit 1 when refused. Every decision is recorded in models.promotions."""
    from f1_pipeline.cli import registry_commands

    raise typer.Exit(registry_commands.promote(PipelineSettings(), version, force=force, reason=reason))


@registry_app.command("rollback")
def registry_rollback(
    version: str, reason: Annotated[str | None, typer.Option(help=f"Why; recorded in {PROMOTIONS}.")] = None
) -> None:
    """Move `champion` to VERSION without the gate: how a bad champion is undone. The gate then refuses the version
    rolled back from until a manual promotion brings it back."""
    from f1_pipeline.cli import registry_commands

    raise typer.Exit(registry_commands.rollback(PipelineSettings(), version, reason))
