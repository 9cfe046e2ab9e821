"""The title odds' backtest as readers are shown it: every contender's odds from the published simulation after
every round of past seasons, and whether it became world champion (`title_backtest.py` makes the forecasts).

Apart from the backtest, and polars only, because the API and the published tables read these forecasts and their
declaration without the estimators and simulations that make them.
"""

from __future__ import annotations

import polars as pl

from f1_pipeline.contracts import PROBABILITY, REQUIRED, ROUND, SEASON, Column, Contract, SumRule
from f1_pipeline.tables import TITLE_FORECASTS

PUBLISHED_METHOD = "model"
"""The simulation the title odds are published from; the others are what it is compared with."""
TITLE_FORECAST_CONTRACT = Contract(
    TITLE_FORECASTS.qualified,
    TITLE_FORECASTS.row,
    (
        Column("season", pl.Int32, "championship year", SEASON, 2026),
        Column("after_round", pl.Int32, "the last completed round the standings include", ROUND, 11),
        Column("entity", pl.String, "driver or constructor: which championship", REQUIRED, "driver"),
        Column("id", pl.String, "the driver's or the team's Ergast id", REQUIRED, "norris"),
        Column(
            "title_probability",
            pl.Float64,
            "share of simulated seasons the driver or team ends as world champion, from 0 to 1 (ties: most wins, then "
            "chance)",
            PROBABILITY,
            0.613,
        ),
        Column(
            "won_title",
            pl.Boolean,
            "whether the driver or team won that title at the end of the season",
            REQUIRED,
            False,
        ),
    ),
    sums=(SumRule("title_probability", per=("season", "after_round", "entity")),),
    key=("season", "after_round", "entity", "id"),
    may_be_empty=True,  # until a finished season has enough seasons before it to be backtested
)
"""The published method's title forecasts, as the warehouse holds them and the API publishes them (the published
table is this declaration under its own name), whose words the other tables of title odds share."""
TITLE_FORECAST_SCHEMA = pl.Schema(TITLE_FORECAST_CONTRACT.schema)


def published_forecasts(forecasts: pl.DataFrame) -> pl.DataFrame:
    """Every contender's title odds from the published simulation at every checkpoint, with whether it became world
    champion: the forecasts whose calibration readers are shown (`TITLE_FORECAST_SCHEMA`)."""
    return (
        forecasts.select(
            "season",
            "after_round",
            "entity",
            "id",
            pl.col(PUBLISHED_METHOD).alias("title_probability"),
            pl.col("champion").alias("won_title"),
        )
        .cast(TITLE_FORECAST_SCHEMA)
        .sort("entity", "season", "after_round", "id")
    )


def title_forecast_rows(published: pl.DataFrame) -> pl.DataFrame:
    """The published title forecasts as yes/no forecasts in long form (`metrics.forecast_scores`): outcome
    `title_driver` or `title_constructor`, forecast, happened."""
    return published.select(
        outcome=pl.concat_str(pl.lit("title_"), pl.col("entity")),
        forecast=pl.col("title_probability"),
        happened=pl.col("won_title"),
    )
