"""The champion's race predictions as the warehouse keeps them (`predictions.next_race`,
`predictions.race_predictions`), and how they scored race by race (`predictions.prediction_accuracy`, built here).

Declared once, for the assets that write these tables and for the published tables built from them, which take
their shared columns from here in the same words. Apart from the scoring and the registry, and polars only beside the
modelling metrics, because the published tables and the API import the declarations.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from f1_pipeline.contracts import (
    FINITE,
    PROBABILITY,
    RACE_DATE,
    REQUIRED,
    ROUND,
    SEASON,
    SHARE,
    Column,
    Contract,
    SumRule,
)
from f1_pipeline.modeling.backtest import race_scores
from f1_pipeline.modeling.feature_matrix import MODE_COLUMN
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import OUTCOMES, outcome_race_scores, podium_scores
from f1_pipeline.modeling.outcomes import OUTCOME_COLUMNS
from f1_pipeline.tables import NEXT_RACE, PREDICTION_ACCURACY, RACE_PREDICTIONS

_PRECISION = (
    " Raw, not rounded: computed to within 1e-6 of the model's distribution, so a value within 1e-6 of 0 or 1 is not "
    "a certainty but a chance below that resolution"
)
_OUTCOME_EXAMPLES: dict[str, float] = {
    "podium_probability": 0.6712,
    "top6_probability": 0.8841,
    "points_probability": 0.8502,
    "expected_position": 3.2,
    "not_classified_probability": 0.14,
    "teammate_ahead_probability": 0.64,
    "team_win_probability": 0.52,
}
"""An example value of each finishing-order outcome (`OUTCOME_COLUMNS`, which says what each means): an outcome
without one stops the import (KeyError), so no outcome is published unexampled."""


def _outcome_column(name: str) -> Column:
    """A chance is raw and in [0, 1] (or absent: an older model did not predict it); the expected place a number."""
    chance = name.endswith("_probability")
    words = OUTCOME_COLUMNS[name] + ("." + _PRECISION if chance else "")
    return Column(name, pl.Float64, words, SHARE if chance else FINITE, _OUTCOME_EXAMPLES[name])


MODEL_VERSION = Column(
    "model_version", pl.String, "the registered version that made the predictions", REQUIRED, example="7"
)
PREDICTION_COLUMNS = (
    Column("season", pl.Int32, "championship year", SEASON, 2026),
    Column("round", pl.Int32, "the race's round in its season, from 1", ROUND, 12),
    Column("race_name", pl.String, "the Grand Prix's name", REQUIRED, "Dutch Grand Prix"),
    Column("date", pl.Date, "race day (local date at the circuit)", RACE_DATE, "2026-08-23"),
    Column("driver_id", pl.String, "the driver's Ergast id", REQUIRED, "max_verstappen"),
    Column("driver_name", pl.String, "the driver's full name", REQUIRED, "Max Verstappen"),
    Column("driver_code", pl.String, "the driver's three-letter code; null for early drivers", example="VER"),
    Column("constructor_id", pl.String, "the team's Ergast id", example="red_bull"),
    Column("constructor_name", pl.String, "the team's name", example="Red Bull"),
    Column("circuit_id", pl.String, "the circuit's Ergast id", example="zandvoort"),
    replace(MODE_COLUMN, example="post_qualifying"),
    Column(
        "probability",
        pl.Float64,
        "the champion model's probability that the driver wins, from 0 to 1; raw (not rounded): the model's own "
        "number to float precision",
        PROBABILITY,
        0.3125,
    ),
    Column("rank", pl.UInt32, "1 = the most likely winner of the race", REQUIRED, 1),
    MODEL_VERSION,
    *(_outcome_column(name) for name in OUTCOME_COLUMNS),
    Column(
        "trouble_share",
        pl.Float64,
        "share of the classified cars whose race goes wrong (a car slowed down for it) in the law that turned P(win) "
        "into the other chances: before qualifying the share that scored best over the 40 races before this one; "
        "after qualifying 0.1, and each car's 0.1 more times its P(win) against the favourite's",
        SHARE,
        0.3,
    ),
)
"""A driver's chances in a race and mode, the race, driver and team named beside their ids: what both tables of
predictions begin with."""
_FIELD = SumRule("probability", per=("mode", "season", "round"))
"""Each race's field is a distribution: the drivers' win probabilities sum to 1."""
_PREDICTION_KEY = ("mode", "season", "round", "driver_id")

NEXT_RACE_CONTRACT = Contract(
    NEXT_RACE.qualified,
    NEXT_RACE.row,
    (
        *PREDICTION_COLUMNS,
        Column("model_name", pl.String, "the registered model's name", REQUIRED, "f1-race-winner"),
        Column(
            "top_contributions",
            pl.String,
            "JSON list of {feature, contribution}: the features that moved the driver's score most",
        ),
        Column("predicted_at", pl.Datetime("us", "UTC"), "when the champion scored the race (UTC)", REQUIRED),
    ),
    sums=(_FIELD,),
    key=_PREDICTION_KEY,
)
RACE_PREDICTIONS_CONTRACT = Contract(
    RACE_PREDICTIONS.qualified,
    RACE_PREDICTIONS.row,
    (
        *PREDICTION_COLUMNS,
        Column("won", pl.Boolean, "whether the driver won the race", REQUIRED, True),
        Column(
            "finish_position",
            pl.Int32,
            "classified position; null when not classified (or the race is not run yet)",
            example=1,
        ),
    ),
    sums=(_FIELD,),
    key=_PREDICTION_KEY,
)

DRIVER_LOG_LOSS = "driver_log_loss"
"""The per-outcome score of a race: `{outcome}_driver_log_loss`, one column per outcome of `metrics.OUTCOMES`."""
OUTCOME_LOSS_COLUMNS = tuple(
    Column(
        f"{outcome}_{DRIVER_LOG_LOSS}",
        pl.Float64,
        f"mean binary log loss of the {outcome} forecasts (`{column}`) over the race's drivers (lower is better)",
        FINITE,
    )
    for outcome, column in OUTCOMES.items()
)
PREDICTION_ACCURACY_CONTRACT = Contract(
    PREDICTION_ACCURACY.qualified,
    PREDICTION_ACCURACY.row,
    (
        *(RACE_PREDICTIONS_CONTRACT.column(name) for name in ("season", "round", "race_name", "date", "mode")),
        MODEL_VERSION,
        Column(
            "log_loss",
            pl.Float64,
            "mean negative log of the probability given to the winner (lower is better)",
            FINITE,
            1.52,
        ),
        Column(
            "brier",
            pl.Float64,
            "mean Brier score of the win probabilities over the field (lower is better)",
            FINITE,
            0.041,
        ),
        Column("correct_winner", pl.Boolean, "whether the favourite won", example=True),
        Column("winner_in_top3", pl.Boolean, "whether the winner was among the three favourites", example=True),
        Column("winner_probability", pl.Float64, "the probability the model gave the actual winner", SHARE, 0.41),
        Column("field_size", pl.Int32, "drivers in the race", example=20),
        Column(
            "podium_log_loss",
            pl.Float64,
            "the field's summed binary log loss of P(podium) against a top-3 finish (lower is better)",
            FINITE,
        ),
        Column(
            "podium_brier",
            pl.Float64,
            "the field's summed squared gaps between P(podium) and a top-3 finish (lower is better)",
            FINITE,
        ),
        *OUTCOME_LOSS_COLUMNS,
    ),
    key=("mode", "season", "round"),
)


def accuracy_by_race(predictions: pl.DataFrame, races: pl.DataFrame) -> pl.DataFrame:
    """Per race and mode of the champion's walk-forward predictions (`predictions.race_predictions`): the winner's
    scores, the podium's and every published chance's (`{outcome}_driver_log_loss`), with the race's name and date
    from `races`; the declared columns in their order, whichever outcomes the scoring meets first."""
    scored = predictions.with_columns(model=pl.col("model_version"))
    keys = ["model", "mode", *RACE_KEY]
    per_outcome = (
        outcome_race_scores(scored, by=("model", "mode"))
        .with_columns(metric=pl.concat_str(pl.col("outcome"), pl.lit(f"_{DRIVER_LOG_LOSS}")))
        .pivot("metric", index=keys, values=DRIVER_LOG_LOSS)
    )
    return (
        race_scores(scored)
        .join(podium_scores(scored), on=keys, how="left")
        .join(per_outcome, on=keys, how="left")
        .rename({"model": "model_version", "top1": "correct_winner", "top3": "winner_in_top3"})
        .join(races.select(*RACE_KEY, "race_name", "date"), on=RACE_KEY, how="left")
        .select(PREDICTION_ACCURACY_CONTRACT.schema.keys())
        .sort("mode", *RACE_KEY)
    )
