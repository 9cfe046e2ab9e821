"""What each dashboard page shows, computed from the served tables: plain functions of a `Served`, tested without a
server. A page's optional parts (podium chances, title odds, weather) appear when the publication has their columns
or tables and are left out, with a note, when it has not.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import polars as pl

from f1_pipeline.modeling.feature_matrix import MODES
from f1_serving.dashboard.charts import LineChart, Series, line_chart
from f1_serving.dashboard.explanations import reasons, sentence
from f1_serving.dashboard.formatting import MISSING, day, local_time, percent, points_change, share
from f1_serving.dashboard.team_colours import team_colour
from f1_serving.freshness import freshness as data_freshness
from f1_serving.schemas import ChampionDecision, OutcomeAccuracy
from f1_serving.served.queries import champion_decision, outcome_accuracy, title_accuracy
from f1_serving.served.serving_state import Served

PRE, POST = "pre_qualifying", "post_qualifying"
MODE_LABELS = {PRE: "before qualifying", POST: "after qualifying"}
OUTCOME_LABELS = {
    "podium_probability": "Podium",
    "points_probability": "Points",
    "teammate_ahead_probability": "Beats teammate",
}
"""Finishing-order chances beside the win chance, shown when the predictions carry the column."""
EXPECTED_POSITION = "expected_position"
WEATHER_COLUMNS = ("air_temperature", "wet", "wind_speed")
CALIBRATION_EDGES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)
"""Bins of the favourite's win probability: narrow where favourites usually are, wide at the thin ends."""
RATING_LINES = 6
"""Lines on a rating chart: more become unreadable; the table beside it lists everyone."""
CHAMPIONSHIP_TABLE = "championship_odds"
RESULTS_MISSING = "run; results not in the data"
"""What a race the calendar dates before today shows for its result when the data has none."""


class PageNotFoundError(LookupError):
    """The page asks for something the data does not have (a season without a calendar); the message says why."""


@dataclass(frozen=True)
class FreshnessBanner:
    """The line every page shows of the data's age (`f1_serving.freshness`'s rule, in words)."""

    data_through: str | None
    """The last race with results, e.g. "Hungarian Grand Prix, 26 July 2026"."""
    stale: bool
    note: str | None
    """Why the data is older than the calendar says it should be, when it is."""


@dataclass(frozen=True)
class Cell:
    text: str
    share: float | None = None
    """0-1 length of the bar drawn behind the number; None draws no bar."""


@dataclass(frozen=True)
class DriverRow:
    rank: int
    driver: str
    team: str
    cells: tuple[Cell, ...]
    why: str | None = None
    """What moved the chance most, in words (from the model's top contributions), when the predictions say."""


@dataclass(frozen=True)
class RaceHeader:
    title: str
    season: int
    round: int
    circuit: str
    date: str
    local_start: str | None


@dataclass(frozen=True)
class NextRacePage:
    race: RaceHeader | None
    mode: str | None
    columns: tuple[str, ...]
    rows: tuple[DriverRow, ...]
    favourite: str | None
    weather: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    freshness: FreshnessBanner
    model_version: str
    passed: bool = False
    """The race's date is before today but its results are not in the data: it has been run, not upcoming."""


def freshness(calendar: pl.DataFrame, today: date) -> FreshnessBanner:
    """The banner every page carries: the last race with results and, when races the calendar dates before `today`
    have none, why the data is behind (the rule of `f1_serving.freshness`, which the API and the command say too)."""
    found = data_freshness(calendar, today)
    reason = found.reason
    note = None if reason is None else f"{reason[:1].upper()}{reason[1:]}. Run the pipeline on live data to catch up."
    return FreshnessBanner(found.data_through, found.stale, note)


def _race_header(race: Mapping[str, Any]) -> RaceHeader:
    place = ", ".join(
        str(part) for part in (race.get("circuit_name"), race.get("locality"), race.get("country")) if part
    )
    return RaceHeader(
        title=f"{race['season']} {race['race_name']}",
        season=int(race["season"]),
        round=int(race["round"]),
        circuit=place or "circuit not known",
        date=day(race["date"]),
        local_start=local_time(race.get("starts_at"), race.get("timezone"), race.get("date")),
    )


def _best_mode(rows: pl.DataFrame) -> str:
    return POST if (rows["mode"] == POST).any() else PRE


def next_race(served: Served, today: date) -> NextRacePage:
    """Every entrant's win chance in the most informed mode, the change since before qualifying once qualifying is
    in, the other finishing chances the predictions carry, and the weather when the features have it."""
    calendar = served.table("calendar")
    fresh = freshness(calendar, today)
    predictions = served.next_race
    version = served.champion.version
    if predictions.is_empty():
        done = ("Every race on the calendar has results: there is no next race to predict.",)
        return NextRacePage(None, None, (), (), None, (), done, fresh, version)
    mode = _best_mode(predictions)
    shown = predictions.filter(pl.col("mode") == mode).sort("rank")
    first = shown.row(0, named=True)
    race = calendar.filter((pl.col("season") == first["season"]) & (pl.col("round") == first["round"]))
    header = _race_header(race.row(0, named=True) if race.height else first)
    outcomes = [column for column in OUTCOME_LABELS if column in shown.columns]
    has_expected = EXPECTED_POSITION in shown.columns
    change = mode == POST
    if change:
        before = predictions.filter(pl.col("mode") == PRE).select("driver_id", before="probability")
        shown = shown.join(before, on="driver_id", how="left")
    columns = (
        "Win",
        *(OUTCOME_LABELS[column] for column in outcomes),
        *(("Expected place",) if has_expected else ()),
        *(("Change since qualifying",) if change else ()),
    )
    by_driver = _features_by_driver(served.table("next_race_features"), first["season"], first["round"])
    rows = tuple(
        DriverRow(
            rank=row["rank"],
            driver=row["driver_name"] or row["driver_id"],
            team=row["constructor_name"] or "",
            cells=(
                Cell(percent(row["probability"]), row["probability"]),
                *(Cell(percent(row[column]), row[column]) for column in outcomes),
                *((Cell(_place(row[EXPECTED_POSITION])),) if has_expected else ()),
                *((Cell(_change(row["probability"], row["before"])),) if change else ()),
            ),
            why=sentence(*reasons(row.get("top_contributions"), by_driver.get(row["driver_id"], {}))),
        )
        for row in shown.iter_rows(named=True)
    )
    notes: list[str] = []
    if not change:
        notes.append("Qualifying for this race is not in the data yet: these chances are from before qualifying.")
    if not outcomes:
        notes.append("Podium and points chances are not in the published predictions yet.")
    weather = _weather(served.table("next_race_features"), first["season"], first["round"])
    if not weather:
        notes.append("No weather for this race is in the published data.")
    return NextRacePage(
        race=header,
        mode=MODE_LABELS[mode],
        columns=columns,
        rows=rows,
        favourite=f"{rows[0].driver} ({rows[0].cells[0].text})",
        weather=weather,
        notes=tuple(notes),
        freshness=fresh,
        model_version=str(first.get("model_version") or version),
        passed=data_freshness(calendar, today).has_passed(header.season, header.round),
    )


def _features_by_driver(features: pl.DataFrame, season: int, round_: int) -> dict[str, dict[str, Any]]:
    """The race's model inputs per driver, which the explanations quote; empty when the publication has none."""
    if not {"season", "round", "driver_id"} <= set(features.columns):
        return {}
    race = features.filter((pl.col("season") == season) & (pl.col("round") == round_))
    return {row["driver_id"]: row for row in race.iter_rows(named=True)}


def _place(expected: float | None) -> str:
    return MISSING if expected is None else f"{expected:.1f}"


def _change(after: float, before: float | None) -> str:
    return points_change(None if before is None else after - before)


def _weather(features: pl.DataFrame, season: int, round_: int) -> tuple[tuple[str, str], ...]:
    """The race's weather as the features carry it (one value per race); empty when no weather source filled it."""
    race = features.filter((pl.col("season") == season) & (pl.col("round") == round_))
    if race.is_empty() or not all(column in race.columns for column in WEATHER_COLUMNS):
        return ()
    values = race.row(0, named=True)
    shown = []
    if values["air_temperature"] is not None:
        shown.append(("Air temperature", f"{values['air_temperature']:.0f} °C"))
    if values["wet"] is not None:
        shown.append(("Track", "wet" if values["wet"] else "dry"))
    if values["wind_speed"] is not None:
        shown.append(("Wind", f"{values['wind_speed']:.1f} m/s"))
    return tuple(shown)


@dataclass(frozen=True)
class SeasonRace:
    round: int
    name: str
    date: str
    circuit: str
    local_start: str | None
    favourite: str | None
    probability: str | None
    winner: str | None
    favourite_won: str
    """"yes", "no", or a dash when the race has no winner or no prediction."""


@dataclass(frozen=True)
class SeasonPage:
    season: int
    mode: str
    races: tuple[SeasonRace, ...]
    summary: str | None
    notes: tuple[str, ...]
    previous: int | None
    next: int | None
    predicted_seasons: tuple[int, ...]


def season(served: Served, year: int, today: date) -> SeasonPage:
    """The season's calendar with each race's favourite (after qualifying where the grid was known), its chance, the
    winner and whether the favourite won; a race run before `today` whose results are not in the data says so."""
    calendar = served.table("calendar")
    races = calendar.filter(pl.col("season") == year).sort("round")
    if races.is_empty():
        seasons = calendar["season"]
        raise PageNotFoundError(f"there is no {year} calendar: the data covers {seasons.min()!s}-{seasons.max()!s}")
    predictions = pl.concat([served.table("race_predictions"), served.next_race], how="diagonal_relaxed").filter(
        pl.col("season") == year
    )
    favourites = (
        predictions.filter(pl.col("rank") == 1)
        .sort("round", pl.col("mode") == POST)
        .group_by("round", maintain_order=True)
        .last()
        .select("round", "mode", favourite="driver_name", favourite_id="driver_id", probability="probability")
    )
    rows = races.join(favourites, on="round", how="left")
    fresh = data_freshness(calendar, today)
    shown = tuple(_season_race(row, fresh.has_passed(year, row["round"])) for row in rows.iter_rows(named=True))
    decided = [race for race in shown if race.favourite_won in ("yes", "no")]
    wins = sum(race.favourite_won == "yes" for race in decided)
    summary = f"The favourite won {wins} of {len(decided)} predicted races." if decided else None
    modes = set(favourites["mode"].to_list())
    notes: list[str] = []
    if favourites.is_empty():
        notes.append(f"There are no predictions for {year}: the walk-forward backtest covers {_span(served)}.")
    known = sorted(set(calendar["season"].to_list()))
    index = known.index(year)
    return SeasonPage(
        season=year,
        mode=" and ".join(MODE_LABELS[mode] for mode in (POST, PRE) if mode in modes) or MISSING,
        races=shown,
        summary=summary,
        notes=tuple(notes),
        previous=known[index - 1] if index > 0 else None,
        next=known[index + 1] if index + 1 < len(known) else None,
        predicted_seasons=tuple(sorted(set(predictions_seasons(served)))),
    )


def latest_season(served: Served) -> int:
    """The season of the next race, or the last on the calendar when every race has results."""
    calendar = served.table("calendar")
    upcoming = calendar.filter(pl.col("is_next"))
    return cast(int, (upcoming if upcoming.height else calendar)["season"].max())


def predictions_seasons(served: Served) -> list[int]:
    return served.table("race_predictions")["season"].unique().sort().to_list()


def _span(served: Served) -> str:
    seasons = predictions_seasons(served)
    return f"{seasons[0]}-{seasons[-1]}" if seasons else "no season"


def _season_race(row: Mapping[str, Any], passed: bool) -> SeasonRace:
    winner_id, favourite_id = row["winner_driver_id"], row["favourite_id"]
    won = MISSING if winner_id is None or favourite_id is None else ("yes" if winner_id == favourite_id else "no")
    return SeasonRace(
        round=int(row["round"]),
        name=str(row["race_name"]),
        date=day(row["date"]),
        circuit=", ".join(str(part) for part in (row["circuit_name"], row["country"]) if part),
        local_start=local_time(row["starts_at"], row["timezone"], row["date"]),
        favourite=row["favourite"] or row["favourite_id"],
        probability=None if row["probability"] is None else percent(row["probability"]),
        winner=RESULTS_MISSING if passed else row["winner_name"],
        favourite_won=won,
    )


@dataclass(frozen=True)
class SeasonScore:
    season: int
    mode: str
    races: int
    favourite_won: str
    log_loss: str
    winner_probability: str
    outcomes: tuple[str, ...] = ()
    """The log loss of each other published outcome (`AccuracyPage.outcome_columns`), in the same order."""


@dataclass(frozen=True)
class CalibrationBin:
    mode: str
    bin: str
    races: int
    predicted: str
    observed: str


OUTCOME_NAMES = {
    "win": "Win",
    "podium": "Podium",
    "top6": "Top 6",
    "points": "Points",
    "not_classified": "Not classified",
    "teammate": "Ahead of teammates",
}
"""The published chances, named as the next-race page names them."""
TITLE_NAMES = {"title_driver": "Drivers' title", "title_constructor": "Constructors' title"}
TITLE_CHECKPOINTS = "past seasons, after each round"
"""When the title odds scored were given: every round from the third to the second-to-last of the seasons backtested."""
TITLE_CAVEAT = (
    "The rounds of one season share one outcome, so these forecasts are far from independent: the test and the ranges, "
    "which take them to be, overstate the evidence."
)
"""Why a title's calibration test is read with care: one surprising champion moves every checkpoint of his season."""


@dataclass(frozen=True)
class OutcomeBin:
    chances: str
    """The bin's range of forecasts, e.g. "30-40%"."""
    forecasts: int
    predicted: str
    observed: str
    gap: str
    """Observed minus predicted, in points."""
    calibrated_range: str
    """The central 95% of the shares calibrated forecasts would show in the bin, e.g. "41-53%"."""
    beyond_noise: bool
    """The share that happened lies outside `calibrated_range`."""


@dataclass(frozen=True)
class OutcomeReliability:
    """One published chance in one mode, scored per driver and race over every completed backtested race."""

    outcome: str
    mode: str
    forecasts: int
    log_loss: str
    brier: str
    calibration_error: str
    consistency: str
    """Whether the bins' gaps are more than calibrated forecasts would show by chance, in words with the p-value."""
    bins: tuple[OutcomeBin, ...]
    caveat: str = ""
    """What the test assumes that these forecasts do not keep; empty where it holds."""


@dataclass(frozen=True)
class AccuracyPage:
    seasons: tuple[SeasonScore, ...]
    favourite_chart: LineChart | None
    log_loss_chart: LineChart | None
    calibration: tuple[CalibrationBin, ...]
    calibration_chart: LineChart | None
    model_version: str | None
    outcome_columns: tuple[str, ...] = ()
    """A column per other outcome the accuracy data scores (podium, points, ...), e.g. "Podium log loss"."""
    reliability: tuple[OutcomeReliability, ...] = ()
    """Every published chance's scores and reliability table, per mode: the numbers the API's accuracy answer gives."""


def scored_outcomes(columns: list[str]) -> list[str]:
    """The outcomes besides the win that the published accuracy data scores per driver, by its
    `<outcome>_driver_log_loss` columns: a newly published outcome shows up without a change here."""
    suffix = "_driver_log_loss"
    return [column.removesuffix(suffix) for column in columns if column.endswith(suffix) and column != f"win{suffix}"]


def outcome_reliability(served: Served) -> tuple[OutcomeReliability, ...]:
    """Per mode and published chance, then the title odds of the seasons backtested: log loss, Brier and calibration
    error per forecast, and the ten bins with their sizes, so a bin of 3 forecasts is not read like one of 3,000."""
    race_chances = [
        _reliability(scored, OUTCOME_NAMES.get(scored.outcome, scored.outcome), MODE_LABELS[mode])
        for mode in MODES
        for scored in sorted(outcome_accuracy(served, mode), key=lambda item: _outcome_order(item.outcome))
    ]
    titles = [
        _reliability(scored, TITLE_NAMES.get(scored.outcome, scored.outcome), TITLE_CHECKPOINTS, TITLE_CAVEAT)
        for scored in sorted(title_accuracy(served), key=lambda item: list(TITLE_NAMES).index(item.outcome))
    ]
    return (*race_chances, *titles)


def _reliability(scored: OutcomeAccuracy, outcome: str, when: str, caveat: str = "") -> OutcomeReliability:
    return OutcomeReliability(
        caveat=caveat,
        outcome=outcome,
        mode=when,
        forecasts=scored.forecasts,
        log_loss=f"{scored.driver_log_loss:.3f}",
        brier=f"{scored.driver_brier:.3f}",
        calibration_error=f"{scored.ece * 100:.1f} pts",
        consistency=_consistency(scored.calibration_p_value),
        bins=tuple(
            OutcomeBin(
                chances=f"{item.bin * 10}-{item.bin * 10 + 10}%",
                forecasts=item.count,
                predicted=percent(item.mean_probability),
                observed=share(item.observed_rate),
                gap=f"{(item.observed_rate - item.mean_probability) * 100:+.1f}",
                calibrated_range=percent_range(item.band_low, item.band_high),
                beyond_noise=not item.band_low <= item.observed_rate <= item.band_high,
            )
            for item in scored.bins
        ),
    )


def percent_range(low: float, high: float) -> str:
    """A range of shares in percent, e.g. "41-53%"; with a decimal below 10% ("0.0-0.3%"), where whole points would
    read as no range at all."""
    decimals = 1 if high < 0.1 else 0
    return f"{low * 100:.{decimals}f}-{high * 100:.{decimals}f}%"


def _consistency(p_value: float | None) -> str:
    """The calibration test in words: a p-value under 5% means the gaps are more than chance."""
    if p_value is None:
        return "no bin can vary"
    verdict = "gaps beyond chance" if p_value < 0.05 else "gaps within chance"
    return f"{verdict} (p = {p_value:.3f})" if p_value >= 0.001 else f"{verdict} (p < 0.001)"


def _outcome_order(outcome: str) -> int:
    """The next-race page's order: win, podium, top 6, points, not classified, teammate."""
    order = list(OUTCOME_NAMES)
    return order.index(outcome) if outcome in order else len(order)


def accuracy(served: Served) -> AccuracyPage:
    """Per season and mode: how often the favourite won and the log loss; and calibration: the favourite's chance
    against how often favourites with such a chance won."""
    scored = served.table("prediction_accuracy")
    outcomes = scored_outcomes(scored.columns)
    per_season = (
        scored.group_by("mode", "season")
        .agg(
            [pl.col(f"{outcome}_driver_log_loss").mean().alias(f"{outcome}_log_loss") for outcome in outcomes],
            races=pl.len(),
            favourite_won=pl.col("correct_winner").cast(pl.Float64).mean(),
            log_loss=pl.col("log_loss").mean(),
            winner_probability=pl.col("winner_probability").mean(),
        )
        .sort("season", "mode")
    )
    seasons = tuple(
        SeasonScore(
            season=row["season"],
            mode=MODE_LABELS[row["mode"]],
            races=row["races"],
            favourite_won=share(row["favourite_won"]),
            log_loss=f"{row['log_loss']:.3f}",
            winner_probability=percent(row["winner_probability"]),
            outcomes=tuple(
                MISSING if row[f"{outcome}_log_loss"] is None else f"{row[f'{outcome}_log_loss']:.3f}"
                for outcome in outcomes
            ),
        )
        for row in per_season.iter_rows(named=True)
    )
    bins = calibration_bins(served.table("race_predictions"))
    version = str(scored["model_version"][0]) if scored.height else None
    return AccuracyPage(
        seasons=seasons,
        favourite_chart=_season_chart(
            per_season, "favourite_won", "How often the favourite won", "share of races", "{:.0%}", (0.0, 1.0)
        ),
        log_loss_chart=_season_chart(per_season, "log_loss", "Log loss of the winner (lower is better)", "log loss"),
        calibration=tuple(
            CalibrationBin(
                mode=MODE_LABELS[row["mode"]],
                bin=row["bin"],
                races=row["races"],
                predicted=percent(row["predicted"]),
                observed=share(row["observed"]),
            )
            for row in bins.iter_rows(named=True)
        ),
        calibration_chart=_calibration_chart(bins),
        model_version=version,
        outcome_columns=tuple(f"{OUTCOME_NAMES.get(outcome, outcome)} log loss" for outcome in outcomes),
        reliability=outcome_reliability(served),
    )


def calibration_bins(predictions: pl.DataFrame) -> pl.DataFrame:
    """Per mode and bin of the favourite's probability (completed races only): races, mean predicted chance and
    the share the favourite won. A calibrated model's two numbers agree."""
    favourites = predictions.filter((pl.col("rank") == 1) & pl.col("won").is_not_null())
    labels = [f"{low:.0%}-{high:.0%}" for low, high in itertools.pairwise(CALIBRATION_EDGES)]
    index = pl.sum_horizontal((pl.col("probability") >= edge).cast(pl.Int32) for edge in CALIBRATION_EDGES[1:-1])
    return (
        favourites.with_columns(index=index)
        .group_by("mode", "index")
        .agg(
            races=pl.len(),
            predicted=pl.col("probability").mean(),
            observed=pl.col("won").cast(pl.Float64).mean(),
        )
        .sort("mode", "index")
        .select(
            "mode",
            pl.col("index").replace_strict(range(len(labels)), labels).alias("bin"),
            "races",
            "predicted",
            "observed",
        )
    )


def _season_chart(
    per_season: pl.DataFrame,
    column: str,
    title: str,
    y_label: str,
    y_format: str = "{:.2f}",
    y_range: tuple[float, float] | None = None,
) -> LineChart | None:
    series = [
        Series(MODE_LABELS[mode], [(row["season"], row[column]) for row in rows.iter_rows(named=True)])
        for mode in (PRE, POST)
        if not (rows := per_season.filter(pl.col("mode") == mode)).is_empty()
    ]
    if not series:
        return None
    described = "; ".join(
        f"{line.name}: " + ", ".join(f"{int(x)} {y_format.format(y)}" for x, y in line.points) for line in series
    )
    seasons = sorted({int(x) for line in series for x, _ in line.points})
    return line_chart(
        title,
        f"{title} per season, {described}.",
        series,
        y_label=y_label,
        y_format=y_format,
        x_labels={season: str(season) for season in seasons},
        y_range=y_range,
        last_label=f"{seasons[-1]}: ",
    )


def _calibration_chart(bins: pl.DataFrame) -> LineChart | None:
    series = [
        Series(
            MODE_LABELS[mode],
            [(row["predicted"], row["observed"]) for row in rows.iter_rows(named=True)],
            weights=rows["races"].to_list(),
        )
        for mode in (PRE, POST)
        if not (rows := bins.filter(pl.col("mode") == mode)).is_empty()
    ]
    if not series:
        return None
    return line_chart(
        "Calibration of the favourite's chance",
        "The favourite's predicted win chance (across) against how often such favourites won (up), every season "
        "of the backtest together; each mark's area is in proportion to its races. The grey diagonal is perfect "
        "calibration. The table below has every point.",
        series,
        y_label="won",
        y_format="{:.0%}",
        x_labels={tick / 10: f"{tick * 10}%" for tick in range(0, 11, 2)},
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
        legend_values=False,
    )


@dataclass(frozen=True)
class RatingRow:
    name: str
    elo: str
    change: str
    """Since the first race of the latest season."""


@dataclass(frozen=True)
class RatingsPage:
    drivers_chart: LineChart | None
    teams_chart: LineChart | None
    drivers: tuple[RatingRow, ...]
    teams: tuple[RatingRow, ...]
    seasons: str
    contrast: str | None = None
    """How the top-rated driver's chance at the next race compares with the favourite's, when they differ."""


def ratings(served: Served) -> RatingsPage:
    """ELO after every race of the recent seasons, for the drivers and teams of the latest season."""
    history = served.table("rating_history")
    if history.is_empty():
        return RatingsPage(None, None, (), (), "")
    order = history.select("season", "round").unique().sort("season", "round").with_row_index("race")
    history = history.join(order, on=["season", "round"]).with_columns(pl.col("race").cast(pl.Float64))
    latest = cast(int, history["season"].max())
    seasons = f"{history['season'].min()!s}-{latest}"
    firsts = order.group_by("season").agg(pl.col("race").min()).sort("season")
    x_labels = {float(row["race"]): str(row["season"]) for row in firsts.iter_rows(named=True)}
    drivers_chart, drivers = _ratings_of(history.filter(pl.col("entity") == "driver"), latest, "Driver", x_labels)
    teams_chart, teams = _ratings_of(history.filter(pl.col("entity") == "team"), latest, "Team", x_labels)
    return RatingsPage(drivers_chart, teams_chart, drivers, teams, seasons, _contrast(served, drivers))


def _contrast(served: Served, drivers: tuple[RatingRow, ...]) -> str | None:
    """The top-rated driver's win chance at the next race beside the favourite's: why a rating is not a chance."""
    predictions = served.next_race
    if not drivers or predictions.is_empty():
        return None
    shown = predictions.filter(pl.col("mode") == _best_mode(predictions)).sort("rank")
    favourite = shown.row(0, named=True)
    rated = shown.filter(pl.col("driver_name") == drivers[0].name)
    if rated.is_empty() or favourite["driver_name"] == drivers[0].name:
        return None
    chance = rated.row(0, named=True)["probability"]
    return (
        f"{drivers[0].name}, the highest-rated driver, has {percent(chance)} to win the next race, while the model's "
        f"favourite, {favourite['driver_name']}, has {percent(favourite['probability'])}."
    )


def _ratings_of(
    history: pl.DataFrame, latest: int, entity: str, x_labels: dict[float, str]
) -> tuple[LineChart | None, tuple[RatingRow, ...]]:
    current = history.filter(pl.col("season") == latest).sort("race")
    if current.is_empty():
        return None, ()
    standing = current.group_by("entity_id").agg(
        name=pl.col("name").last(), elo=pl.col("elo").last(), start=pl.col("elo").first()
    )
    standing = standing.sort("elo", "entity_id", descending=[True, False])
    rows = tuple(
        RatingRow(
            name=row["name"] or row["entity_id"],
            elo=f"{row['elo']:.0f}",
            change=f"{row['elo'] - row['start']:+.0f}",
        )
        for row in standing.iter_rows(named=True)
    )
    top = standing.head(RATING_LINES)
    series = [
        Series(
            row["name"] or row["entity_id"],
            [
                (r["race"], r["elo"])
                for r in history.filter(pl.col("entity_id") == row["entity_id"]).iter_rows(named=True)
            ],
        )
        for row in top.iter_rows(named=True)
    ]
    names = ", ".join(f"{line.name} {line.points[-1][1]:.0f}" for line in series)
    chart = line_chart(
        f"{entity} ratings after each race",
        f"ELO rating after each race since {min(x_labels.values())} of the {len(series)} highest-rated "
        f"{entity.lower()}s of {latest}; their latest ratings: {names}.",
        series,
        y_label="ELO",
        x_labels=x_labels,
        last_label="latest ",
    )
    return chart, rows


@dataclass(frozen=True)
class ModelPage:
    name: str
    version: str
    alias: str
    families: tuple[tuple[str, str], ...]
    trained_at: str
    registered_at: str
    published_at: str
    published_by_version: str
    backtest_seasons: str
    races: int
    training_seasons: str
    comparison: tuple[tuple[str, tuple[str, ...]], ...]
    """(model or baseline, its value for each of `metrics`) per mode, rows as shown."""
    metric_columns: tuple[str, ...]
    other_metrics: tuple[tuple[str, str], ...]
    became_champion: str
    """How the registry's gate (or an operator) made this version the champion, in words."""
    decisions: tuple[DecisionRow, ...] = ()
    """The latest decisions on the champion alias, newest first."""


@dataclass(frozen=True)
class DecisionRow:
    decided_at: str
    action: str
    version: str
    deciding_outcomes: str
    reason: str


DECISIONS_SHOWN = 5
ACTIONS = {
    "promotion": "promoted by the gate",
    "refusal": "refused by the gate",
    "manual_promotion": "promoted by an operator, over the gate",
    "rollback": "rolled back to by an operator",
}
"""Each action of `promotions` in words; the gate's are decided by scores, an operator's by a stated reason."""


def model_card(served: Served) -> ModelPage:
    """The champion as the server loaded it (its registry version and training run), how it became the champion
    (the registry gate's published decision), and what its walk-forward backtest scored beside the baselines the
    training run logged."""
    champion = served.champion
    manifest = served.publication.manifest
    accuracy = served.table("prediction_accuracy")
    seasons = accuracy["season"]
    comparison, columns, rest = _comparison(champion.metrics, champion.families)
    decisions = served.table("promotions").sort("decided_at", descending=True)
    return ModelPage(
        name=champion.name,
        version=champion.version,
        alias=champion.alias,
        families=tuple(
            (MODE_LABELS.get(mode, mode), _model_words(family)) for mode, family in sorted(champion.families.items())
        ),
        trained_at=_instant(champion.trained_at),
        registered_at=_instant(champion.registered_at),
        published_at=_instant(manifest.published_at),
        published_by_version=manifest.model_version,
        backtest_seasons=f"{seasons.min()!s}-{seasons.max()!s}" if len(seasons) else "none",
        races=accuracy.select("season", "round").n_unique(),
        training_seasons=_training_seasons(champion.params),
        comparison=comparison,
        metric_columns=columns,
        other_metrics=rest,
        became_champion=_became_champion(champion_decision(served), champion.version),
        decisions=tuple(
            DecisionRow(
                decided_at=_instant(row["decided_at"]),
                action=ACTIONS.get(row["action"], row["action"]),
                version=row["candidate_version"],
                deciding_outcomes=_outcome_words((row["deciding_outcomes"] or "").split(",")),
                reason=row["reason"],
            )
            for row in decisions.head(DECISIONS_SHOWN).iter_rows(named=True)
        ),
    )


def _became_champion(decision: ChampionDecision | None, version: str) -> str:
    """How `version` became the champion, in words, ending with the decision's own record (the gate's scores, or
    the operator's reason) as the registry's version description says it."""
    if decision is None:
        return (
            f"The published data records no decision that made version {version} the champion: it became the "
            "champion after the data was published, and the next publication will say how."
        )
    when, reason = _instant(decision.decided_at), decision.reason.rstrip(".")
    if decision.action == "manual_promotion":
        return f"An operator promoted version {version} on {when}, overriding the gate: {reason}."
    if decision.action == "rollback":
        return f"An operator rolled the champion back to version {version} on {when}: {reason}."
    if decision.previous_champion_version is None:
        return f"The registry's gate made version {version} the first champion on {when}: {reason}."
    return (
        f"The registry's gate promoted version {version} over version {decision.previous_champion_version} on "
        f"{when}, deciding on {_outcome_words(decision.deciding_outcomes)}: {reason}."
    )


def _outcome_words(outcomes: Iterable[str]) -> str:
    """The outcomes a gated decision turned on, named as the next-race page names the chances (a dash for none: an
    operator's decision)."""
    return ", ".join(OUTCOME_NAMES.get(outcome, outcome) for outcome in outcomes if outcome) or MISSING


def _training_seasons(params: Mapping[str, str]) -> str:
    """What the training run says of its season split: learnt from, tuned and chosen on."""
    names = ("train_first", "validation_first", "backtest_first")
    first, validation, backtest = (params.get(f"{name}_season") for name in names)
    if first is None or validation is None or backtest is None:
        return MISSING
    return f"from {first}; tuned and chosen on {validation}-{int(backtest) - 1}; refitted on every completed race"


def _instant(value: datetime | None) -> str:
    return MISSING if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


METRIC_LABELS = {
    "log_loss": "Log loss",
    "brier": "Brier",
    "top1": "Favourite won",
    "top3": "Winner in top 3",
    "podium_log_loss": "Podium log loss",
    "podium_brier": "Podium Brier",
}
SHARE_METRICS = ("top1", "top3")
"""Shares of races, shown as percentages like every chance; the scores (log loss, Brier) keep three decimals."""
MODELS = {
    "plackett_luce": ("model family", "Plackett-Luce: a strength per driver, fitted to whole finishing orders"),
    "conditional_logit": ("model family", "conditional logit: a linear score per driver, a softmax over the field"),
    "conditional_logit_core_features": (
        "model family",
        "the conditional logit on the core features only (ratings, recent form, circuit record, weather; the "
        "grid after qualifying)",
    ),
    "random_forest": ("model family", "random forest of decision trees, normalised per race"),
    "xgboost": ("model family", "gradient-boosted trees (XGBoost), normalised per race"),
    "rf_xgb_average": ("model family", "the average of the random forest and XGBoost"),
    "logit_tree_blend": ("model family", "a blend of the conditional logit and the forest + XGBoost average"),
    "championship_leader": ("baseline", "the championship leader is the favourite"),
    "pole_sitter": ("baseline", "the pole-sitter is the favourite"),
    "grid_slot_rate": ("baseline", "how often each starting slot won in the past"),
    "grid_podium_rate": ("baseline", "how often each starting slot reached the podium in the past"),
    "elo_only": ("baseline", "the ELO ratings alone"),
    "elo_grid_logistic": ("baseline", "a logistic regression on the ELO rating and the starting slot"),
}
"""Each model and baseline the training run compares, said in words (an unknown name is shown as it is)."""


def _model_words(model: str) -> str:
    kind, words = MODELS.get(model, ("model", model.replace("_", " ")))
    return f"{words} ({kind}, {model})"


def _comparison(
    metrics: Mapping[str, float], families: Mapping[str, str]
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The run's metrics named `<mode>.<model>.<metric>` (or `<mode>.<metric>`: the champion's own) as one row per
    mode and model with a column per metric, the champion's model family of each mode marked; anything named otherwise
    is listed as it is."""
    table: dict[tuple[str, str], dict[str, float]] = {}
    rest = []
    for name, value in sorted(metrics.items()):
        parts = name.split(".")
        if len(parts) == 3 and parts[0] in MODE_LABELS:
            table.setdefault((parts[0], parts[1]), {})[parts[2]] = value
        elif len(parts) == 2 and parts[0] in MODE_LABELS:
            table.setdefault((parts[0], families.get(parts[0], "champion")), {})[parts[1]] = value
        else:
            rest.append((name, f"{value:.4g}"))
    every_metric = sorted({metric for values in table.values() for metric in values})
    metric_names = [metric for metric in every_metric if _metric_label(metric)]
    rest += [
        (f"{mode}.{model}.{metric}", f"{values[metric]:.4g}")
        for (mode, model), values in sorted(table.items())
        for metric in every_metric
        if metric in values and not _metric_label(metric)
    ]
    rows = tuple(
        (
            f"{MODE_LABELS[mode]}: {_model_words(model)}{' (champion)' if families.get(mode) == model else ''}",
            tuple(_metric(metric, values.get(metric)) for metric in metric_names),
        )
        for (mode, model), values in sorted(table.items(), key=lambda item: (item[0][0] != PRE, item[0][1]))
    )
    return rows, tuple(_metric_label(metric) or metric for metric in metric_names), tuple(rest)


def _metric_label(metric: str) -> str | None:
    """A column's heading: the winner's metrics per race, and each other published chance's log loss per driver; the
    chances' Brier scores and calibration errors stay in the run's other metrics (the accuracy page shows their
    reliability)."""
    outcome = metric.removesuffix("_driver_log_loss")
    if outcome != metric and outcome in OUTCOME_NAMES and outcome != "win":
        return f"{OUTCOME_NAMES[outcome]}: log loss per driver"
    return METRIC_LABELS.get(metric)


def _metric(metric: str, value: float | None) -> str:
    if value is None:
        return MISSING
    return share(value) if metric in SHARE_METRICS else f"{value:.3f}"


CHAMPIONSHIP_COLUMNS = ("season", "after_round", "entity", "name", "points_now", "title_probability")
"""What the title-odds page reads of the published `championship_odds` (besides an optional `expected_points`): one
row per driver (entity "driver") and per constructor (entity "constructor") of the season, with the standings after
its last completed round."""


@dataclass(frozen=True)
class TitleRow:
    name: str
    points: str
    expected: str | None
    chance: Cell


@dataclass(frozen=True)
class ChampionshipPage:
    heading: str
    drivers: tuple[TitleRow, ...]
    constructors: tuple[TitleRow, ...]
    notes: tuple[str, ...]
    drivers_chart: LineChart | None = None
    constructors_chart: LineChart | None = None


TITLE_HISTORY_TABLE = "title_odds_by_round"
CHART_CONTENDERS = 5
"""Lines per title-odds chart: the contenders with the highest chance at any round (more lines are unreadable)."""


def championship(served: Served) -> ChampionshipPage:
    """Drivers' and constructors' title chances, most likely first, beside their points now."""
    if CHAMPIONSHIP_TABLE not in served.publication.tables:
        raise PageNotFoundError("title odds are not in the published data yet")
    odds = served.table(CHAMPIONSHIP_TABLE)
    missing = [column for column in CHAMPIONSHIP_COLUMNS if column not in odds.columns]
    if missing or odds.is_empty():
        why = f"lack the columns {', '.join(missing)}" if missing else "are empty"
        return ChampionshipPage("Championship odds", (), (), (f"The published title odds {why}.",))
    first = odds.row(0, named=True)
    has_expected = "expected_points" in odds.columns

    def rows(entity: str) -> tuple[TitleRow, ...]:
        by_chance = ["title_probability", "expected_points", "name"] if has_expected else ["title_probability", "name"]
        chosen = odds.filter(pl.col("entity") == entity).sort(
            by_chance, descending=[True, *([True] if has_expected else []), False], nulls_last=True
        )
        return tuple(
            TitleRow(
                name=row["name"] or row.get("id") or "",
                points=f"{row['points_now']:g}",
                expected=f"{row['expected_points']:.0f}" if has_expected else None,
                chance=Cell(
                    percent(row["title_probability"], bool(row.get("title_decided"))), row["title_probability"]
                ),
            )
            for row in chosen.iter_rows(named=True)
        )

    return ChampionshipPage(
        heading=f"{first['season']} championship odds after round {first['after_round']}",
        drivers=rows("driver"),
        constructors=rows("constructor"),
        notes=(),
        drivers_chart=_title_chart(served, "driver", "Drivers' title chances after each round"),
        constructors_chart=_title_chart(served, "constructor", "Constructors' title chances after each round"),
    )


def _title_chart(served: Served, entity: str, title: str) -> LineChart | None:
    """The title chance of the season's leading contenders after every completed round, when published."""
    if TITLE_HISTORY_TABLE not in served.publication.tables:
        return None
    history = served.table(TITLE_HISTORY_TABLE).filter(pl.col("entity") == entity)
    if history["after_round"].n_unique() < 2:
        return None
    best = history.group_by("id").agg(pl.col("title_probability").max(), pl.col("name").first())
    leaders = best.sort(["title_probability", "name"], descending=[True, False]).head(CHART_CONTENDERS)
    series = [
        Series(
            row["name"] or row["id"],
            [
                (line["after_round"], line["title_probability"])
                for line in history.filter(pl.col("id") == row["id"]).sort("after_round").iter_rows(named=True)
            ],
        )
        for row in leaders.iter_rows(named=True)
    ]
    described = "; ".join(
        f"{line.name}: " + ", ".join(f"round {int(x)} {y:.0%}" for x, y in line.points) for line in series
    )
    rounds = sorted({int(x) for line in series for x, _ in line.points})
    return line_chart(
        title,
        f"{title}, the {len(series)} contenders with the highest chance at any round: {described}.",
        series,
        y_label="title chance",
        y_format="{:.0%}",
        x_labels={rnd: str(rnd) for rnd in rounds},
        y_range=(0.0, 1.0),
    )


@dataclass(frozen=True)
class RaceEntry:
    driver: str
    team: str
    colour: str
    """The team's colour that season (`team_colours`), drawn beside the name."""
    before: Cell
    after: Cell
    finished: str
    won: bool


@dataclass(frozen=True)
class RaceScore:
    mode: str
    winner_chance: str
    """The chance the model gave the driver who won."""
    favourite_won: str
    log_loss: str
    brier: str


@dataclass(frozen=True)
class RacePage:
    race: RaceHeader
    rows: tuple[RaceEntry, ...]
    scores: tuple[RaceScore, ...]
    notes: tuple[str, ...]
    passed: bool
    previous: tuple[int, int] | None
    next: tuple[int, int] | None


def race(served: Served, season: int, round_: int, today: date) -> RacePage:
    """One race: every driver's win chance before and after qualifying beside his result, most likely winner first,
    and how the prediction scored (log loss, Brier, the winner's chance) once the race is run."""
    calendar = served.table("calendar").sort("season", "round")
    entry = calendar.filter((pl.col("season") == season) & (pl.col("round") == round_))
    if entry.is_empty():
        raise PageNotFoundError(f"there is no round {round_} in the {season} calendar")
    key = (pl.col("season") == season) & (pl.col("round") == round_)
    predictions = pl.concat([served.table("race_predictions"), served.next_race], how="diagonal_relaxed").filter(key)
    results = served.table("results").filter(key)
    passed = data_freshness(calendar, today).has_passed(season, round_)
    notes: list[str] = []
    if predictions.is_empty():
        notes.append(f"The model made no predictions for this race: the walk-forward backtest covers {_span(served)}.")
    rows = _race_entries(predictions, results, season) if not predictions.is_empty() else ()
    if not predictions.is_empty() and results.is_empty():
        notes.append(
            "This race was run, but its results are not in the data." if passed else "This race has not been run yet."
        )
    keys = calendar.select("season", "round").rows()
    index = keys.index((season, round_))
    return RacePage(
        race=_race_header(entry.row(0, named=True)),
        rows=rows,
        scores=_race_scores(served.table("prediction_accuracy").filter(key)),
        notes=tuple(notes),
        passed=passed,
        previous=keys[index - 1] if index > 0 else None,
        next=keys[index + 1] if index + 1 < len(keys) else None,
    )


def _race_entries(predictions: pl.DataFrame, results: pl.DataFrame, season: int) -> tuple[RaceEntry, ...]:
    chances = (
        predictions.group_by("driver_id")
        .agg(
            driver=pl.col("driver_name").drop_nulls().first(),
            team=pl.col("constructor_name").drop_nulls().first(),
            constructor_id=pl.col("constructor_id").drop_nulls().first(),
            before=pl.col("probability").filter(pl.col("mode") == PRE).first(),
            after=pl.col("probability").filter(pl.col("mode") == POST).first(),
        )
        .join(
            results.select("driver_id", "finish_position", "position_text", "status"),
            on="driver_id",
            how="left",
        )
        .sort(pl.coalesce("after", "before"), "before", "driver_id", descending=[True, True, False], nulls_last=True)
    )
    return tuple(
        RaceEntry(
            driver=row["driver"] or row["driver_id"],
            team=row["team"] or "",
            colour=team_colour(row["constructor_id"], season),
            before=Cell(percent(row["before"]), row["before"]),
            after=Cell(percent(row["after"]), row["after"]),
            finished=_finish(row),
            won=row["finish_position"] == 1,
        )
        for row in chances.iter_rows(named=True)
    )


def _finish(row: Mapping[str, Any]) -> str:
    """ "1st"-style places for classified finishers; otherwise the result's status ("Retired", "Disqualified")."""
    if row.get("finish_position") is not None:
        return f"P{row['finish_position']}"
    if row.get("status"):
        return str(row["status"])
    return MISSING


def _race_scores(accuracy: pl.DataFrame) -> tuple[RaceScore, ...]:
    return tuple(
        RaceScore(
            mode=MODE_LABELS[row["mode"]],
            winner_chance=percent(row["winner_probability"]),
            favourite_won="yes" if row["correct_winner"] else "no",
            log_loss=f"{row['log_loss']:.3f}",
            brier=f"{row['brier']:.3f}",
        )
        for row in accuracy.sort(pl.col("mode") == POST).iter_rows(named=True)
    )
