"""Scores of per-race winner distributions against finished races.

Every metric is a function of the labels (`won`) and the predicted probabilities aligned with the frame's rows, so any
model or baseline is scored the same way. A race is the unit: each race contributes one log loss, one Brier score and
one hit or miss, so a 24-driver field and a 10-driver field weigh the same.

Ties in the ranking count against the model: the winner's rank is the number of drivers with a probability at least as
high as the winner's. A uniform field therefore never scores a top-1 hit, and the score never depends on row order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import polars as pl
from scipy.stats import binom, chi2

from f1_pipeline.contracts import FINITE, REQUIRED, SHARE, Column, within
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.points import points_places

PROBABILITY_FLOOR = 1e-15
SUM_TOLERANCE = 1e-6
RACES_COLUMN = Column("races", pl.UInt32, "races scored; every mean weighs each race the same", REQUIRED)
METRIC_COLUMNS = (
    Column("log_loss", pl.Float64, "mean over races of -ln P(winner) (lower is better)", FINITE),
    Column(
        "brier",
        pl.Float64,
        "mean over races of the field's summed squared gaps between P(win) and winning, 0 to 2 (lower is better)",
        within(0.0, 2.0),
    ),
    Column(
        "top1", pl.Float64, "share of races the favourite won (a favourite tied with another counts as a miss)", SHARE
    ),
    Column("top3", pl.Float64, "share of races the winner was among the three most likely (ties count against)", SHARE),
)
"""The winner's metrics (`summarise`'s means of `race_metrics`); in a table of scores, after `RACES_COLUMN`."""
METRICS = tuple(column.name for column in METRIC_COLUMNS)
PODIUM_METRIC_COLUMNS = (
    Column(
        "podium_log_loss",
        pl.Float64,
        "mean over races of the field's summed binary log loss of P(podium) against a top-3 finish (lower is better)",
        FINITE,
    ),
    Column(
        "podium_brier",
        pl.Float64,
        "mean over races of the field's summed squared gaps between P(podium) and a top-3 finish (lower is better)",
        FINITE,
    ),
)
PODIUM_METRICS = tuple(column.name for column in PODIUM_METRIC_COLUMNS)
"""Top-3 membership, per race: the sum over the field of each driver's binary log loss / squared error of
P(podium) against finishing in the top 3 (classified places 1-3)."""
PODIUM_BASELINE = "grid_podium_rate"
"""The post-qualifying podium baseline (historical podium rate of the starting slot): a backtest column and a model."""

_P = pl.col("probability")
_WON = pl.col("won")
_WINNER_P = _P.filter(_WON).first()


def race_metrics(frame: pl.DataFrame, probability: np.ndarray) -> pl.DataFrame:
    """One row per race, sorted by race, so models can be compared race by race and summarised by any grouping."""
    scored = _scored(frame, probability)
    winner_rank = (_P >= _WINNER_P).sum()
    return (
        scored.group_by(RACE_KEY)
        .agg(
            log_loss=-_WINNER_P.clip(PROBABILITY_FLOOR).log(),
            brier=((_P - _WON.cast(pl.Float64)) ** 2).sum(),
            top1=winner_rank <= 1,
            top3=winner_rank <= 3,
            winner_probability=_WINNER_P,
            field_size=pl.len().cast(pl.Int32),
        )
        .sort(RACE_KEY)
    )


def summarise(race_metrics: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Means over races (top-1/top-3 as hit rates), per group, with the race count that says how much to trust them."""
    present = [name for name in (*METRICS, *PODIUM_METRICS) if name in race_metrics.columns]
    aggregates = [pl.len().alias("races"), *(pl.col(name).cast(pl.Float64).mean() for name in present)]
    if not by:
        return race_metrics.select(aggregates)
    return race_metrics.group_by(by).agg(aggregates).sort(by)


def podium_scores(predictions: pl.DataFrame) -> pl.DataFrame:
    """Per-race podium metrics of every model and mode of a backtest (its `podium_probability` column), plus the
    grid podium baseline's (its `PODIUM_BASELINE` column, on post-qualifying rows) as one more post-qualifying model."""
    parts = [
        podium_race_metrics(group, group["podium_probability"].to_numpy()).with_columns(
            model=pl.lit(model), mode=pl.lit(mode)
        )
        for (model, mode), group in predictions.group_by("model", "mode", maintain_order=True)
    ]
    baseline = (
        predictions.filter(pl.col(PODIUM_BASELINE).is_not_null()).unique(
            [*RACE_KEY, "driver_id"], keep="first", maintain_order=True
        )
        if PODIUM_BASELINE in predictions.columns
        else predictions.clear()
    )
    if not baseline.is_empty():
        parts.append(
            podium_race_metrics(baseline, baseline[PODIUM_BASELINE].to_numpy()).with_columns(
                model=pl.lit(PODIUM_BASELINE), mode=pl.lit("post_qualifying")
            )
        )
    return pl.concat(parts).select("model", "mode", pl.exclude("model", "mode"))


def podium_race_metrics(frame: pl.DataFrame, podium_probability: np.ndarray) -> pl.DataFrame:
    """One row per race: `PODIUM_METRICS` of P(podium) against `finish_position` <= 3, sorted by race.

    A race is the unit, as for the winner: every driver's binary term is summed within the race, then races are
    averaged by `summarise`.
    """
    labelled = _podium_scored(frame, podium_probability)
    p = _P.clip(PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    on_podium = pl.col("on_podium").cast(pl.Float64)
    return (
        labelled.group_by(RACE_KEY)
        .agg(
            podium_log_loss=-(on_podium * p.log() + (1 - on_podium) * (1 - p).log()).sum(),
            podium_brier=((_P - on_podium) ** 2).sum(),
        )
        .sort(RACE_KEY)
    )


def podium_calibration(frame: pl.DataFrame, podium_probability: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """`calibration` of P(podium) against finishing in the top 3 (observed_rate = share of drivers who did)."""
    labelled = _podium_scored(frame, podium_probability).with_columns(won=pl.col("on_podium"))
    return calibration(labelled, labelled["probability"].to_numpy(), bins, checked=False)


def calibration(frame: pl.DataFrame, probability: np.ndarray, bins: int = 10, *, checked: bool = True) -> pl.DataFrame:
    """Reliability per probability bin, over drivers rather than races.

    Bins are equal-width on [0, 1] (bin k holds k/bins <= p < (k+1)/bins; p = 1 goes to the last bin) rather than
    quantiles: win probabilities are so skewed (most drivers near 0) that quantile bins would spend almost every bin
    below 0.05 and lump all favourites together, and fixed edges keep curves of different models comparable.
    Empty bins are left out.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    scored = _scored(frame, probability) if checked else frame.with_columns(probability=pl.Series(probability))
    return (
        scored.group_by(bin=(_P * bins).floor().cast(pl.Int32).clip(0, bins - 1))
        .agg(
            mean_probability=_P.mean(),
            observed_rate=_WON.cast(pl.Float64).mean(),
            count=pl.len().cast(pl.Int64),
        )
        .sort("bin")
    )


def expected_calibration_error(frame: pl.DataFrame, probability: np.ndarray, bins: int = 10) -> float:
    """The count-weighted mean gap between predicted and observed win rates over `calibration`'s bins."""
    curve = calibration(frame, probability, bins)
    gap = (curve["observed_rate"] - curve["mean_probability"]).abs()
    return float(cast(float, (gap * curve["count"]).sum()) / cast(int, curve["count"].sum()))


def _scored(frame: pl.DataFrame, probability: np.ndarray) -> pl.DataFrame:
    """The race key, labels and probabilities in one frame, refused unless it is a set of finished races' distributions.

    Scoring a malformed distribution would quietly flatter or punish a model, so the checks fail loudly instead.
    """
    probability = np.asarray(probability, dtype=np.float64)
    if probability.shape != (frame.height,):
        raise ValueError(f"expected one probability per row ({frame.height}), got shape {probability.shape}")
    if not np.all(np.isfinite(probability)) or np.any(probability < 0) or np.any(probability > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    scored = frame.select(*RACE_KEY, _WON).with_columns(probability=pl.Series(probability))
    if scored["won"].null_count():
        raise ValueError("`won` is null for some rows: only finished races can be scored")
    per_race = scored.group_by(RACE_KEY).agg(winners=_WON.sum(), total=_P.sum())
    _refuse(per_race.filter(pl.col("winners") != 1), "races must have exactly one winner", "winners")
    off_total = (pl.col("total") - 1).abs() > SUM_TOLERANCE
    _refuse(per_race.filter(off_total), "probabilities must sum to 1 per race", "total")
    return scored


def _podium_scored(frame: pl.DataFrame, probability: np.ndarray) -> pl.DataFrame:
    """Race key, P(podium) and whether the driver finished in the top 3; refused unless every race is finished and
    its P(podium) sums to min(3, field) (what any finishing-order distribution gives)."""
    probability = np.asarray(probability, dtype=np.float64)
    if probability.shape != (frame.height,):
        raise ValueError(f"expected one probability per row ({frame.height}), got shape {probability.shape}")
    if not np.all(np.isfinite(probability)) or np.any(probability < 0) or np.any(probability > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    if "finish_position" not in frame.columns:
        raise ValueError("podium metrics need `finish_position` (null for a car not classified)")
    scored = frame.select(
        *RACE_KEY, on_podium=pl.col("finish_position").is_between(1, 3).fill_null(False)
    ).with_columns(probability=pl.Series(probability))
    per_race = scored.group_by(RACE_KEY).agg(total=_P.sum(), field=pl.len())
    off_total = (pl.col("total") - pl.min_horizontal(pl.col("field"), 3)).abs() > SUM_TOLERANCE
    _refuse(per_race.filter(off_total), "P(podium) must sum to min(3, field) per race", "total")
    return scored


def _refuse(offending: pl.DataFrame, message: str, detail: str) -> None:
    """Name the first few offending races so the caller can find them."""
    if offending.is_empty():
        return
    shown = offending.sort(RACE_KEY).head(5).iter_rows(named=True)
    races = ", ".join(f"{row['season']}/{row['round']} ({detail}={row[detail]:g})" for row in shown)
    raise ValueError(f"{message}: {offending.height} race(s) do not, e.g. {races}")


OUTCOMES = {
    "win": "probability",
    "podium": "podium_probability",
    "top6": "top6_probability",
    "points": "points_probability",
    "not_classified": "not_classified_probability",
    "teammate": "teammate_ahead_probability",
}
"""Every published chance and its column. Each is scored as a binary forecast per driver-race, so the same metric
names (`OUTCOME_METRICS`) serve every outcome and every model family."""
_OUTCOME_METRIC_WORDS = {
    "driver_log_loss": "mean binary log loss of the {outcome} forecasts (`{column}`) per driver-race (lower is better)",
    "driver_brier": "mean squared gap between the {outcome} forecasts (`{column}`) and what happened, per "
    "driver-race, 0 to 1 (lower is better)",
    "ece": "calibration error of the {outcome} forecasts (`{column}`): the count-weighted mean gap between forecast "
    "and observed rate over 10 equal-width bins, 0 to 1 (lower is better)",
}
OUTCOME_METRICS = tuple(_OUTCOME_METRIC_WORDS)
"""Per outcome, as `{outcome}_{metric}`: mean binary log loss and squared error per driver-race forecast, and the
count-weighted mean gap between forecast and observed rate over 10 equal-width bins (`calibration`'s)."""
OUTCOME_METRIC_COLUMNS = tuple(
    Column(
        f"{outcome}_{metric}",
        pl.Float64,
        words.format(outcome=outcome, column=column),
        FINITE if metric == "driver_log_loss" else SHARE,
    )
    for outcome, column in OUTCOMES.items()
    for metric, words in _OUTCOME_METRIC_WORDS.items()
)
"""`outcome_summary`'s columns, in its order."""
CALIBRATION_BINS = 10
BAND = 0.05
"""A reliability bin's band holds the central 1 - BAND of the observed rates calibrated forecasts would give."""


def outcome_labels(frame: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The completed rows (`won` known) with `{outcome}_happened` for every outcome: the classified place in the
    top 1/3/6/points places of the season, not classified (no `finish_position`), and classified ahead of every
    classified teammate (a teammate not classified counts as beaten; null without a teammate)."""
    required = {*by, *RACE_KEY, "won", "finish_position", "constructor_id"}
    missing = required - set(frame.columns)
    if missing:
        raise ValueError(f"outcome scores need the column(s) {', '.join(sorted(missing))}")
    place = pl.col("finish_position")
    team = [*_race_keys(by), "constructor_id"]
    places = pl.col("season").map_elements(points_places, return_dtype=pl.Int64)
    teammates = pl.col("constructor_id").is_not_null() & (pl.len().over(team) > 1)
    return frame.filter(pl.col("won").is_not_null()).with_columns(
        win_happened=pl.col("won"),
        podium_happened=place.is_between(1, 3).fill_null(False),
        top6_happened=place.is_between(1, 6).fill_null(False),
        points_happened=(place <= places).fill_null(False),
        not_classified_happened=place.is_null(),
        teammate_happened=pl.when(teammates).then((place == place.min().over(team)).fill_null(False)),
    )


def outcome_scores(frame: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """One row per `by` group and outcome present: forecasts scored, `OUTCOME_METRICS` (unprefixed), and
    `calibration_p_value` (`forecast_scores` of the frame's `outcome_rows`)."""
    return forecast_scores(outcome_rows(frame, by), by)


def forecast_scores(rows: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Yes/no forecasts in long form (`by` columns, outcome, forecast, happened) scored per `by` group and outcome:
    forecasts, `OUTCOME_METRICS` (unprefixed) and `calibration_p_value`. Race chances and title odds alike.

    An ECE is never zero, even for forecasts calibrated in truth: a bin of 150 forecasts near 50% lands within 4
    points of its mean only two times in three. The p-value says whether the gaps are more than that noise: the
    chance that calibrated forecasts would show bin gaps at least this large, from the sum of each bin's squared
    standardised gap (chi-squared with a degree of freedom per bin whose forecasts are not all 0 or 1).
    """
    curves = forecast_calibration(rows, by)
    z_squared = pl.col("gap_variance") > 0
    gaps = (
        curves.with_columns(
            gap_variance=(pl.col("count") * pl.col("calibrated_spread")) ** 2,
            gap_count=(pl.col("observed_rate") - pl.col("mean_probability")) * pl.col("count"),
        )
        .group_by(*by, "outcome")
        .agg(
            ece=((pl.col("observed_rate") - pl.col("mean_probability")).abs() * pl.col("count")).sum()
            / pl.col("count").sum(),
            chi_squared=(pl.col("gap_count") ** 2 / pl.col("gap_variance")).filter(z_squared).sum(),
            degrees=z_squared.sum(),
        )
        .with_columns(
            calibration_p_value=pl.struct("chi_squared", "degrees")
            .map_batches(
                lambda tests: pl.Series(
                    chi2.sf(tests.struct.field("chi_squared").to_numpy(), tests.struct.field("degrees").to_numpy())
                ),
                return_dtype=pl.Float64,
            )
            .fill_nan(None)
        )
        .drop("chi_squared", "degrees")
    )
    p = pl.col("forecast").clip(PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    happened = pl.col("happened").cast(pl.Float64)
    return (
        rows.group_by(*by, "outcome")
        .agg(
            forecasts=pl.len(),
            driver_log_loss=-(happened * p.log() + (1 - happened) * (1 - p).log()).mean(),
            driver_brier=((pl.col("forecast") - happened) ** 2).mean(),
        )
        .join(gaps, on=[*by, "outcome"])
        .sort(*by, "outcome")
    )


def outcome_race_scores(frame: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """One row per `by` group, race and outcome: the mean binary log loss of the race's forecasts (what the gate
    pairs race by race between two models)."""
    p = pl.col("forecast").clip(PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    happened = pl.col("happened").cast(pl.Float64)
    return (
        outcome_rows(frame, by)
        .group_by(*_race_keys(by), "outcome")
        .agg(driver_log_loss=-(happened * p.log() + (1 - happened) * (1 - p).log()).mean())
        .sort(*dict.fromkeys([*by, "outcome", *RACE_KEY]))
    )


def outcome_calibration(frame: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The reliability table of every outcome of the frame (`forecast_calibration` of its `outcome_rows`)."""
    return forecast_calibration(outcome_rows(frame, by), by)


def forecast_calibration(rows: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The reliability table of yes/no forecasts in long form (`by` columns, outcome, forecast, happened): per `by`
    group, outcome and bin (k/10 <= p < (k+1)/10), the count of forecasts, their mean, the observed rate, and what
    calibrated forecasts would show: `calibrated_spread`, the standard deviation of the observed rate if each forecast
    came true with its own probability, and `band_low`..`band_high`, the central 95% of the observed rates they would
    give (binomial at the bin's mean forecast: at least as spread as the bin's own forecasts would be, so a bin
    outside it is off beyond noise). Empty bins are left out."""
    forecast = pl.col("forecast")
    table = (
        rows.group_by(
            *by, "outcome", bin=(forecast * CALIBRATION_BINS).floor().cast(pl.Int32).clip(0, CALIBRATION_BINS - 1)
        )
        .agg(
            count=pl.len().cast(pl.Int64),
            mean_probability=forecast.mean(),
            observed_rate=pl.col("happened").cast(pl.Float64).mean(),
            calibrated_spread=(forecast * (1 - forecast)).sum().sqrt() / pl.len(),
        )
        .sort(*by, "outcome", "bin")
    )
    count, mean = table["count"].to_numpy(), table["mean_probability"].to_numpy()
    return table.with_columns(
        band_low=pl.Series(binom.ppf(BAND / 2, count, mean) / count, dtype=pl.Float64),
        band_high=pl.Series(binom.ppf(1 - BAND / 2, count, mean) / count, dtype=pl.Float64),
    )


def _race_keys(by: Sequence[str]) -> list[str]:
    """The group keys and the race key, each once (`by` may hold `season`, for tables by season)."""
    return list(dict.fromkeys([*by, *RACE_KEY]))


def outcome_rows(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Long form: one row per driver-race and outcome with a forecast (an outcome whose column is absent is skipped)."""
    labelled = outcome_labels(frame, by)
    parts = [
        labelled.select(
            *_race_keys(by),
            outcome=pl.lit(outcome),
            forecast=pl.col(column).cast(pl.Float64),
            happened=pl.col(f"{outcome}_happened"),
        )
        for outcome, column in OUTCOMES.items()
        if column in labelled.columns
    ]
    rows = pl.concat(parts).filter(pl.col("forecast").is_not_null() & pl.col("happened").is_not_null())
    bad = rows.filter(~pl.col("forecast").is_between(0.0, 1.0))
    if not bad.is_empty():
        raise ValueError(f"forecasts must be within [0, 1]: {bad.height} are not (e.g. {bad.row(0, named=True)})")
    return rows


def outcome_summary(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """`outcome_scores` one row per `by` group, as `{outcome}_{metric}` columns (what the backtest tables and the
    MLflow runs carry beside the winner's metrics)."""
    scores = outcome_scores(frame, by)
    wide = [
        scores.filter(pl.col("outcome") == outcome).select(
            *by, *(pl.col(metric).alias(f"{outcome}_{metric}") for metric in OUTCOME_METRICS)
        )
        for outcome in OUTCOMES
        if outcome in set(scores["outcome"])
    ]
    table = wide[0] if wide else scores.select(by).unique()
    for part in wide[1:]:
        table = table.join(part, on=list(by), how="full", coalesce=True)
    return table
