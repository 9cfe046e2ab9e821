"""MkDocs hook: the Published tables, Raw tables, Clean tables, Model tables and Prediction tables pages, written
from the tables' declarations at each build (`serving_tables.CONTRACTS`, the other tables' contracts beside the
functions that write them), so the documented columns, types, meanings and rules are the ones the pipeline, its
suites and the API check."""

from typing import Any

from mkdocs.structure.files import File, Files

from f1_pipeline.cleaning.qualifying import QUALIFYING_CONTRACT
from f1_pipeline.cleaning.quarantine import QUARANTINE_CONTRACT
from f1_pipeline.cleaning.races import RACES_CONTRACT
from f1_pipeline.cleaning.reference import CIRCUITS_CONTRACT, CONSTRUCTORS_CONTRACT, DRIVERS_CONTRACT
from f1_pipeline.cleaning.results import RACE_RESULTS_CONTRACT, SPRINT_RESULTS_CONTRACT
from f1_pipeline.contracts import reference_markdown
from f1_pipeline.ergast.flatten import RAW_CONTRACTS
from f1_pipeline.modeling import (
    candidates,
    champion_predictions,
    elo,
    feature_matrix,
    title_backtest,
    title_forecasts,
    title_odds,
    training,
)
from f1_pipeline.practice.cleaning import PRACTICE_CONTRACT
from f1_pipeline.practice.raw import RAW_PRACTICE_CONTRACT
from f1_pipeline.registry import decisions, gate
from f1_pipeline.serving_tables import CONTRACTS
from f1_pipeline.weather.tables import RAW_WEATHER_CONTRACT, WEATHER_CONTRACT

INTRO = """# Published tables

What the pipeline publishes for the REST API and the dashboard: the `serving_data` asset, one Parquet file per table
in a snapshot under `F1_SERVING_DIR` (see [Configuration](configuration.md)). Each table's guaranteed columns are
listed in the order they are written; a table may carry more, which no reader relies on. The pipeline refuses to
publish a snapshot that lacks a column, holds it in another type or breaks a rule under "every value" ("present":
no null, "finite": no NaN or infinity, a range: inclusive, nulls aside), and the API refuses to take such a snapshot
into service. This page is generated from the same declarations.

"""
RAW_INTRO = """# Raw tables

The warehouse's raw tables (schema `raw`; see [Data and quality](data.md)) keep each source's answer as it came. The
Ergast API's tables hold one column per field, every value as text, named by where it sits in the answer
(`Races[].Results[].grid`), null where a season's answer leaves the field out; the "present" columns and the
one-row-per key are each one's blocking Great Expectations `keys` suite. Then the practice results as F1DB gives
them ([Practice data](practice-data.md)) and the weather's hourly rows ([Weather](weather.md)). What a value means is
decided in the clean layer, and a row it cannot read goes to `quality.quarantine` (last on this page) with its
reasons and the row itself. This page is generated from the declarations.

"""
RAW_TABLES = (*RAW_CONTRACTS.values(), RAW_PRACTICE_CONTRACT, RAW_WEATHER_CONTRACT, QUARANTINE_CONTRACT)
CLEAN_INTRO = """# Clean tables

The warehouse's clean tables (schema `clean`; see [Data and quality](data.md)), column by column, in the order they
are written: the calendar, race, sprint, qualifying and practice results, drivers, constructors, circuits and the
weather. Their checks are derived from the same declarations: the "present" columns and the one-row-per key are each
table's blocking Great Expectations `keys` suite, the ranges and allowed values its warning `values` suite (nulls
aside); the weather's ranges are its `check_weather_values_plausible` check and its key is
`check_weather_one_row_per_race` (see [Weather](weather.md)). This page is generated from the declarations.

"""
CLEAN_TABLES = (
    RACES_CONTRACT,
    RACE_RESULTS_CONTRACT,
    SPRINT_RESULTS_CONTRACT,
    QUALIFYING_CONTRACT,
    PRACTICE_CONTRACT,
    DRIVERS_CONTRACT,
    CONSTRUCTORS_CONTRACT,
    CIRCUITS_CONTRACT,
    WEATHER_CONTRACT,
)

MODEL_INTRO = """# Model tables

The warehouse's ratings, the feature table the models learn from, the models' tuning, walk-forward backtest and
promotion trail, and the title odds' backtest, column by column, in the order they are written (see
[Modelling](modelling.md) and [Outcomes and championship](outcomes-and-championship.md)). Every feature of a row is
what was known before its race, and every backtest prediction comes from a model fitted on earlier seasons only. This
page is generated from the declarations the writing code holds; a test reads each table of a materialized graph back
against them.

"""
MODEL_TABLES = (
    elo.HISTORY_CONTRACT,
    elo.PARAMETERS_CONTRACT,
    feature_matrix.FEATURES_CONTRACT,
    candidates.RECIPES_CONTRACT,
    training.TUNING_STUDIES_CONTRACT,
    candidates.FAMILY_VALIDATION_CONTRACT,
    training.BACKTEST_PREDICTIONS_CONTRACT,
    training.BACKTEST_SUMMARY_CONTRACT,
    training.BACKTEST_BY_SEASON_CONTRACT,
    gate.CHAMPION_BACKTEST_CONTRACT,
    decisions.PROMOTIONS_CONTRACT,
    title_backtest.CHECKPOINT_CONTRACT,
    title_forecasts.TITLE_FORECAST_CONTRACT,
)

PREDICTION_INTRO = """# Prediction tables

The warehouse's predictions (schema `predictions`): the champion's chances for the next race and its walk-forward
chances for every backtested race, how those scored race by race, and the current season's title odds, now and after
every completed round, column by column, in the order they are written (see
[Outcomes and championship odds](outcomes-and-championship.md)). The [Published tables](published-tables.md) built from
them share their columns in the same words. This page is generated from the declarations the writing code holds; a
test reads each table of a materialized graph back against them.

"""
PREDICTION_TABLES = (
    champion_predictions.NEXT_RACE_CONTRACT,
    champion_predictions.RACE_PREDICTIONS_CONTRACT,
    champion_predictions.PREDICTION_ACCURACY_CONTRACT,
    title_odds.CHAMPIONSHIP_ODDS_CONTRACT,
    title_odds.TITLE_ODDS_BY_ROUND_CONTRACT,
)


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "published-tables.md", content=INTRO + reference_markdown(CONTRACTS)))
    files.append(File.generated(config, "raw-tables.md", content=RAW_INTRO + reference_markdown(RAW_TABLES)))
    files.append(File.generated(config, "clean-tables.md", content=CLEAN_INTRO + reference_markdown(CLEAN_TABLES)))
    files.append(File.generated(config, "model-tables.md", content=MODEL_INTRO + reference_markdown(MODEL_TABLES)))
    files.append(
        File.generated(config, "prediction-tables.md", content=PREDICTION_INTRO + reference_markdown(PREDICTION_TABLES))
    )
    return files
