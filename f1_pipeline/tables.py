"""The warehouse's tables: every one the asset graph writes, where it lives, which asset writes it, what a row is.

The one place a table's name is spelled. Assets read and write tables through these entries and derive the `deps`
on the tables they read from them (`writers`), so that a dependency cannot drift from what the code reads; docs,
notebooks, benchmarks and tests name tables through them too. Asset keys are plain strings here (Dagster turns them
into keys), which keeps this module free of Dagster for the CLI and notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    writers: tuple[str, ...]
    """The assets that write the table: one, except the quarantine, where each cleaning asset replaces its own rows."""
    row: str
    """What one row is."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def asset(self) -> str:
        """The one asset that writes the table (what an asset reading it depends on)."""
        if len(self.writers) != 1:
            raise ValueError(f"{self.qualified} is written by {len(self.writers)} assets: {', '.join(self.writers)}")
        return self.writers[0]

    def __str__(self) -> str:
        """The qualified name, as SQL and the warehouse take it."""
        return self.qualified


def _table(qualified: str, writer: str | tuple[str, ...], row: str) -> Table:
    schema, name = qualified.split(".")
    return Table(schema, name, (writer,) if isinstance(writer, str) else writer, row)


RAW_RACES = _table("raw.races", "raw_races", "a race on a season's schedule as the API gives it, future ones included")
RAW_RESULTS = _table("raw.results", "raw_results", "a car and driver in a race's results, as the API gives it")
RAW_QUALIFYING = _table("raw.qualifying", "raw_qualifying", "a driver in a race's qualifying, Q1/Q2/Q3 as given")
RAW_SPRINT = _table("raw.sprint", "raw_sprint", "a car and driver in a sprint's results, as the API gives it")
RAW_PRACTICE = _table(
    "raw.practice", "raw_practice", "a driver in a practice or sprint-qualifying session, as F1DB publishes it"
)
RAW_WEATHER = _table(
    "raw.weather", "raw_weather", "an hour of Open-Meteo weather at a race's circuit, with the request's URL"
)

RACES = _table("clean.races", "races", "a race on the calendar: scheduled, completed or cancelled, and whether next")
RACE_RESULTS = _table("clean.race_results", "race_results", "a car and driver in a race: place, grid, points, times")
SPRINT_RESULTS = _table("clean.sprint_results", "sprint_results", "a car and driver in a sprint, typed as races are")
QUALIFYING_RESULTS = _table(
    "clean.qualifying_results", "qualifying_results", "a driver in a race's qualifying: position and times in seconds"
)
PRACTICE_RESULTS = _table(
    "clean.practice_results", "practice_results", "a driver in a practice session: position, best lap, laps"
)
WEATHER = _table("clean.weather", "weather", "a race's weather, observed or forecast")
DRIVERS = _table("clean.drivers", "drivers", "a driver, with the API's current name, code and nationality")
CONSTRUCTORS = _table("clean.constructors", "constructors", "a constructor (team)")
CIRCUITS = _table("clean.circuits", "circuits", "a circuit, with its latitude and longitude")
QUARANTINE = _table(
    "quality.quarantine",
    ("races", "race_results", "sprint_results", "qualifying_results", "drivers", "circuits", "practice_results"),
    "a raw row the clean layer rejected or read with a null: its table, key, reasons and the row as JSON",
)

ELO_HISTORY = _table("ratings.elo_history", "elo_ratings", "a driver's or team's rating before and after a race")
ELO_PARAMETERS = _table("ratings.elo_parameters", "elo_ratings", "the tuned K and carry-over of driver or team ratings")

RACE_FEATURES = _table(
    "features.race_features", "race_features", "a driver in a completed or the next race, features as of before it"
)

RECIPES = _table("models.recipes", "model_tuning", "a mode's chosen model family and hyper-parameters")
TUNING_STUDIES = _table("models.tuning_studies", "model_tuning", "an Optuna study of an estimator in a mode")
FAMILY_VALIDATION = _table("models.family_validation", "model_tuning", "a model family's validation scores in a mode")
BACKTEST_PREDICTIONS = _table(
    "models.backtest_predictions", "model_backtest", "a model's walk-forward P(win) of a driver in a race and mode"
)
BACKTEST_SUMMARY = _table("models.backtest_summary", "model_backtest", "a model's backtest scores in a mode")
BACKTEST_BY_SEASON = _table(
    "models.backtest_by_season", "model_backtest", "a model's backtest scores in a mode and season"
)
CHAMPION_BACKTEST = _table(
    "models.champion_backtest", "champion_model", "the champion's walk-forward P(win) of a driver in a race and mode"
)
PROMOTIONS = _table(
    "models.promotions",
    "champion_model",
    "a decision on the champion alias: the pipeline's gate's or the registry CLI's",
)
CHAMPIONSHIP_BACKTEST = _table(
    "models.championship_backtest",
    "championship_backtest",
    "the title odds a past season's world champion had after a round, beside the simulation without drift's and the "
    "standings baseline's",
)

TITLE_FORECASTS = _table(
    "models.title_forecasts",
    "championship_backtest",
    "a driver's or constructor's published-method title odds after a round of a past season, and whether it became "
    "world champion",
)

NEXT_RACE = _table("predictions.next_race", "next_race_predictions", "a driver's chances in the next race, in a mode")
RACE_PREDICTIONS = _table(
    "predictions.race_predictions", "race_predictions", "a driver's walk-forward chances in a backtested race and mode"
)
PREDICTION_ACCURACY = _table(
    "predictions.prediction_accuracy",
    "prediction_accuracy",
    "how the champion's predictions of a race scored, in a mode",
)
CHAMPIONSHIP_ODDS = _table(
    "predictions.championship_odds", "championship_odds", "a driver's or constructor's odds of this season's title"
)
TITLE_ODDS_BY_ROUND = _table(
    "predictions.title_odds_by_round",
    "title_odds_by_round",
    "a driver's or constructor's title odds after a completed round of this season",
)

CATALOGUE: tuple[Table, ...] = (
    RAW_RACES,
    RAW_RESULTS,
    RAW_QUALIFYING,
    RAW_SPRINT,
    RAW_PRACTICE,
    RAW_WEATHER,
    RACES,
    RACE_RESULTS,
    SPRINT_RESULTS,
    QUALIFYING_RESULTS,
    PRACTICE_RESULTS,
    WEATHER,
    DRIVERS,
    CONSTRUCTORS,
    CIRCUITS,
    QUARANTINE,
    ELO_HISTORY,
    ELO_PARAMETERS,
    RACE_FEATURES,
    RECIPES,
    TUNING_STUDIES,
    FAMILY_VALIDATION,
    BACKTEST_PREDICTIONS,
    BACKTEST_SUMMARY,
    BACKTEST_BY_SEASON,
    CHAMPION_BACKTEST,
    PROMOTIONS,
    CHAMPIONSHIP_BACKTEST,
    TITLE_FORECASTS,
    NEXT_RACE,
    RACE_PREDICTIONS,
    PREDICTION_ACCURACY,
    CHAMPIONSHIP_ODDS,
    TITLE_ODDS_BY_ROUND,
)
"""Every warehouse table, in the order data flows."""

SERVED: tuple[Table, ...] = (
    RACES,
    CIRCUITS,
    DRIVERS,
    CONSTRUCTORS,
    RACE_RESULTS,
    SPRINT_RESULTS,
    ELO_HISTORY,
    RACE_FEATURES,
    NEXT_RACE,
    RACE_PREDICTIONS,
    PREDICTION_ACCURACY,
    CHAMPIONSHIP_ODDS,
    TITLE_ODDS_BY_ROUND,
    PROMOTIONS,
    TITLE_FORECASTS,
)
"""The tables the serving snapshot is built from, each read into the `WarehouseTables` field of its name."""


def writers(*tables: Table) -> list[str]:
    """The assets that write `tables`, once each in order: the `deps` of an asset that reads them."""
    return list(dict.fromkeys(table.asset for table in tables))
