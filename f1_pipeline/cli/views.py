"""What the command prints, as Rich renderables built from plain frames: nothing here reads a file or a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from rich.table import Table
from rich.text import Text

from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.progress import duration
from f1_pipeline.serving_tables import TITLE_ORDER
from f1_serving.dashboard.formatting import percent
from f1_serving.freshness import Freshness

MODE_LABELS = {"pre_qualifying": "before qualifying", "post_qualifying": "after qualifying (grid known)"}
FAVOURITES = 3


def parse_race(text: str) -> tuple[int, int] | None:
    """`next` (None) or `SEASON/ROUND`, e.g. `2025/12`."""
    if text.strip().lower() == "next":
        return None
    season, slash, round_ = text.partition("/")
    if not slash or not season.strip().isdigit() or not round_.strip().isdigit():
        raise ValueError(f"--race takes `next` or SEASON/ROUND (e.g. 2025/12), got {text!r}")
    return int(season), int(round_)


def parse_seasons(text: str) -> tuple[int, int]:
    """`1950...2026` (Dagster's range syntax), `1950..2026` or one season `2026`."""
    first, _, last = text.replace("...", "..").partition("..")
    if not first.strip().isdigit() or not (last or first).strip().isdigit():
        raise ValueError(f"seasons are FIRST...LAST (e.g. 2012...2026) or one season, got {text!r}")
    low, high = int(first), int(last or first)
    if low > high:
        raise ValueError(f"the first season {low} is after the last {high}")
    return low, high


def one_race(predictions: pl.DataFrame, race: tuple[int, int] | None) -> pl.DataFrame:
    """The rows of one race: the given season and round, or (None) the only race the frame holds."""
    if race is not None:
        rows = predictions.filter(pl.col("season") == race[0], pl.col("round") == race[1])
        if rows.is_empty():
            raise LookupError(f"no predictions for {race[0]} round {race[1]}: {covered(predictions, race)}")
        return rows
    if predictions.is_empty():
        raise LookupError("no next-race predictions: every scheduled race has results, or none were made yet")
    return predictions


def covered(predictions: pl.DataFrame, race: tuple[int, int]) -> str:
    """Which races the walk-forward predictions hold, first and last by season and round, and why `race` is not one
    of them: the backtest predicts races with results only, so a later race is the next one or still to come."""
    if predictions.is_empty():
        return "the walk-forward predictions hold no race yet"
    races = predictions.select("season", "round").unique().sort("season", "round")
    first, last = races.row(0), races.row(-1)
    span = f"the walk-forward predictions cover {first[0]} round {first[1]} to {last[0]} round {last[1]}"
    if race > last:
        return f"{span}, the last race with results; for the next race use --race next"
    if race < first:
        return f"{span}; earlier races train the first models"
    return f"{span}; {race[0]} has no round {race[1]}"


def choose_mode(rows: pl.DataFrame, mode: str | None) -> str:
    """The mode asked for, else the latest the race has (after qualifying once the grid is in)."""
    available = [known for known in MODES if known in set(rows["mode"].to_list())]
    if mode is None:
        return available[-1]
    if mode not in available:
        raise LookupError(
            f"no {mode} predictions for this race (qualifying is not in the data yet?); available: "
            + ", ".join(available)
        )
    return mode


OUTCOMES = {
    "probability": "Win",
    "podium_probability": "Podium",
    "points_probability": "Points",
    "not_classified_probability": "Not classified",
}
"""The chances a predictions table shows, those the published predictions carry, in this order."""


def predictions_table(rows: pl.DataFrame, mode: str) -> Table:
    """Every driver of one race and mode, most likely winner first, with the outcome once the race is run."""
    shown = rows.filter(pl.col("mode") == mode).sort("rank")
    first = shown.row(0, named=True)
    title = f"{first['race_name']} {first['season']}, round {first['round']} ({first['date']}): {MODE_LABELS[mode]}"
    caption = f"champion model version {first['model_version']}" if "model_version" in shown.columns else None
    table = Table(title=title, caption=caption, min_width=len(title))  # the title on one line
    table.add_column("#", justify="right")
    table.add_column("Driver")
    table.add_column("Team")
    outcomes = [column for column in OUTCOMES if column in shown.columns]
    for column in outcomes:
        table.add_column(OUTCOMES[column], justify="right")
    finished = "finish_position" in shown.columns and shown["finish_position"].is_not_null().any()
    if finished:
        table.add_column("Finished", justify="right")
    for row in shown.iter_rows(named=True):
        cells = [str(row["rank"]), row["driver_name"] or row["driver_id"], row["constructor_name"] or ""]
        cells += [percent(row[column]) for column in outcomes]
        if finished:
            cells.append("" if row["finish_position"] is None else str(row["finish_position"]))
        table.add_row(*cells, style="bold" if row.get("won") else None)
    return table


def freshness_warning(freshness: Freshness, race: tuple[int, int] | None) -> str | None:
    """The line printed under a table when the data is behind the calendar (the rule the API and the dashboard say
    too); it says so first when the race shown has in fact been run."""
    if freshness.reason is None:
        return None
    run = race is not None and freshness.has_passed(*race)
    first = "this race has been run but its results are not in the data; " if run else ""
    return f"warning: {first}{freshness.reason}; run the pipeline on live data to catch up"


CHAMPIONSHIP_COLUMNS = ("season", "after_round", "entity", "name", "points_now", "title_probability", "expected_points")
CHAMPIONSHIPS = {"driver": "Drivers' championship", "constructor": "Constructors' championship"}


def championship_tables(odds: pl.DataFrame) -> list[Table]:
    """One table per championship (drivers', constructors'), ordered as every title table is (chance, expected points,
    name); any other shape of the odds table is shown as it is."""
    if not set(CHAMPIONSHIP_COLUMNS) <= set(odds.columns):
        return [frame_table(odds, "Championship odds")]
    tables = []
    for (entity,), rows in odds.group_by("entity", maintain_order=True):
        first = rows.row(0, named=True)
        title = f"{CHAMPIONSHIPS.get(str(entity), str(entity))} {first['season']}, after round {first['after_round']}"
        table = Table(title=title, min_width=len(title))
        table.add_column("#", justify="right")
        table.add_column("Name")
        for numbers in ("Points now", "Title chance", "Expected points"):
            table.add_column(numbers, justify="right")
        ranked = rows.sort(TITLE_ORDER[0], descending=TITLE_ORDER[1], nulls_last=True)
        for place, row in enumerate(ranked.iter_rows(named=True), start=1):
            points = "" if row["points_now"] is None else f"{row['points_now']:g}"
            table.add_row(
                str(place),
                row["name"] or "",
                points,
                percent(row["title_probability"], decided=bool(row.get("title_decided"))),
                f"{row['expected_points']:.1f}",
            )
        tables.append(table)
    return tables


def frame_table(frame: pl.DataFrame, title: str) -> Table:
    """Any table: probabilities as percentages, other decimals to three places."""
    table = Table(title=title)
    for name in frame.columns:
        table.add_column(name, justify="right" if frame.schema[name].is_numeric() else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(*(_cell(name, value) for name, value in row.items()))
    return table


def _cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return percent(value) if "prob" in name or "chance" in name else f"{value:.3f}"
    return str(value)


@dataclass(frozen=True)
class Favourite:
    driver: str
    team: str
    probability: float


@dataclass(frozen=True)
class NextRace:
    label: str
    mode: str
    favourites: list[Favourite]


def next_race_of(next_race: pl.DataFrame, count: int = FAVOURITES) -> NextRace | None:
    """The next race's name and its `count` most likely winners in the latest mode."""
    if next_race.is_empty():
        return None
    mode = choose_mode(next_race, None)
    rows = next_race.filter(pl.col("mode") == mode).sort("rank")
    first = rows.row(0, named=True)
    return NextRace(
        label=f"{first['race_name']} {first['season']} (round {first['round']}, {first['date']})",
        mode=mode,
        favourites=[
            Favourite(row["driver_name"] or row["driver_id"], row["constructor_name"] or "", row["probability"])
            for row in rows.head(count).iter_rows(named=True)
        ],
    )


def completed_races(races: pl.DataFrame) -> int:
    return races.filter(pl.col("status") == "completed").select(RACE_KEY).n_unique()


@dataclass(frozen=True)
class Links:
    dagster: str
    mlflow: str
    api: str


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    job: str
    succeeded: bool
    seconds: float
    seasons: tuple[int, int]
    failed_stages: Sequence[str]
    unfinished_stages: Sequence[str]
    races: int | None
    """Completed races in the warehouse; None when the clean tables were not built."""
    champion_version: str | None
    next_race: NextRace | None


def summary_view(summary: RunSummary, links: Links) -> Text:
    """What the run produced and where to look at it, after the progress lines: one fact per line, never wrapped
    (print it with `soft_wrap=True`), so that addresses stay whole to copy."""
    outcome = Text(
        "succeeded" if summary.succeeded else "FAILED", style="bold green" if summary.succeeded else "bold red"
    )
    rows: list[tuple[str, str | Text]] = [
        ("run", Text.assemble(f"{summary.job} {summary.run_id} ", outcome, f" in {duration(summary.seconds)}")),
        ("seasons", f"{summary.seasons[0]}-{summary.seasons[1]}"),
    ]
    if summary.failed_stages:
        rows.append(("failed stages", ", ".join(summary.failed_stages)))
    if summary.unfinished_stages:
        rows.append(("not run", ", ".join(summary.unfinished_stages)))
    if summary.races is not None:
        rows.append(("races with results", f"{summary.races:,}"))
    rows.append(("champion model", summary.champion_version or "none registered"))
    if summary.next_race is not None:
        race = summary.next_race
        rows.append(("next race", f"{race.label}, {MODE_LABELS[race.mode]}"))
        rows += [
            (f"  favourite {place}", f"{favourite.driver} ({favourite.team}) {percent(favourite.probability)}")
            for place, favourite in enumerate(race.favourites, start=1)
        ]
    rows += [
        ("Dagster UI", f"{links.dagster}/runs/{summary.run_id}   (start it: f1-predict ui)"),
        ("MLflow UI", f"{links.mlflow}   (f1-predict mlflow)"),
        ("API and dashboard", f"{links.api}/  and  {links.api}/api/v1/docs   (f1-predict serve)"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    return Text("\n").join(Text.assemble((label.ljust(width), "bold"), value) for label, value in [("", ""), *rows])
