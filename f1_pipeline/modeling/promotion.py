"""The promotion gate: a candidate replaces the champion only when it does better on the same evaluation.

"The same evaluation" is the same walk-forward over the same feature rows, identified by a fingerprint; two
numbers from different data are never compared (the gate raises instead).

The criterion is the winner log loss. Guards keep a candidate that wins on it by sacrificing another published
chance out. When both evaluations carry every published outcome (`outcome_races`: win, podium, top 6, points, not
classified, teammate, each as a binary forecast per driver-race), the candidate is refused if it is worse than the
champion on any of them beyond the races' paired noise: the mean of the per-race paired differences of the outcome's
log loss exceeds `NOISE_STANDARD_ERRORS` standard errors of that mean (races are the independent unit; the drivers
of one race share its events). Without them (an evaluation recorded before outcomes were scored) the older podium
guard applies: refused when the podium log loss is more than `PODIUM_MARGIN` worse, relatively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import polars as pl

from f1_pipeline.modeling.backtest import race_scores
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import OUTCOMES, PODIUM_BASELINE, outcome_race_scores, podium_scores

EVALUATION_METRIC = "log_loss"
"""Mean -ln p(winner) per race over both modes: the probability of what happened, which is what we sell."""
PODIUM_METRIC = "podium_log_loss"
PODIUM_MARGIN = 0.05
""""Clearly worse" on the podium: a mean podium log loss more than 5% above the champion's. Measured on the
walk-forward 2014-2025 (252 races, post-qualifying), the paired per-race difference between two models has a
two-standard-error half-width of 4-5% of the podium log loss (4.3% conditional logit against the ELO + grid
logistic, 5.3% against the grid-slot win rate), so a smaller gap is within the races' noise."""
NOISE_STANDARD_ERRORS = 2.0
"""Worse "beyond paired noise": the mean paired per-race difference above two of its standard errors (about a 2.5%
one-sided chance for a model no worse)."""


@dataclass(frozen=True)
class Evaluation:
    log_loss: float
    """Mean over every (race, mode) scored."""
    races: int
    fingerprint: str
    podium_log_loss: float | None = None
    """Mean top-3 membership log loss over the same (race, mode)s; None when not measured (an older version)."""
    outcome_races: pl.DataFrame | None = field(default=None, compare=False, repr=False)
    """mode, season, round, outcome, driver_log_loss: every published outcome's mean binary log loss per race and
    mode (`metrics.outcome_race_scores`); None when the predictions carried no outcome columns."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    deciding_outcomes: tuple[str, ...] = ("win",)
    """The outcomes the decision turned on: `win` (the winner log loss) for a promotion or a refusal on it, else
    those worse beyond noise (or `podium` for the older podium guard)."""


def evaluation_of(predictions: pl.DataFrame, fingerprint: str) -> Evaluation:
    """The gate's number for one model's walk-forward predictions (one `model`, any number of modes)."""
    scores = race_scores(predictions)
    races = scores.select("season", "round").n_unique()
    podium = (
        cast(float, podium_scores(predictions.drop(PODIUM_BASELINE, strict=False))[PODIUM_METRIC].mean())
        if {"podium_probability", "finish_position"} <= set(predictions.columns)
        else None
    )
    outcomes = set(OUTCOMES.values()) - {"probability"}
    return Evaluation(
        log_loss=cast(float, scores[EVALUATION_METRIC].mean()),
        races=races,
        fingerprint=fingerprint,
        podium_log_loss=podium,
        outcome_races=outcome_race_scores(predictions, by=("mode",))
        if outcomes <= set(predictions.columns) and {"constructor_id", "finish_position"} <= set(predictions.columns)
        else None,
    )


def outcome_comparison(candidate: Evaluation, champion: Evaluation) -> pl.DataFrame:
    """Per outcome both evaluations scored: races paired, the mean per-race log loss of each, the mean paired
    difference (candidate - champion), its noise (`NOISE_STANDARD_ERRORS` standard errors) and whether the
    candidate is worse beyond it. Empty when either lacks outcome scores."""
    if candidate.outcome_races is None or champion.outcome_races is None:
        return pl.DataFrame(
            schema={
                "outcome": pl.String,
                "races": pl.UInt32,
                "candidate": pl.Float64,
                "champion": pl.Float64,
                "difference": pl.Float64,
                "noise": pl.Float64,
                "worse": pl.Boolean,
            }
        )
    key = ["mode", *RACE_KEY, "outcome"]
    paired = candidate.outcome_races.join(champion.outcome_races, on=key, suffix="_champion").with_columns(
        difference=pl.col("driver_log_loss") - pl.col("driver_log_loss_champion")
    )
    return (
        paired.group_by("outcome")
        .agg(
            races=pl.len(),
            candidate=pl.col("driver_log_loss").mean(),
            champion=pl.col("driver_log_loss_champion").mean(),
            difference=pl.col("difference").mean(),
            noise=NOISE_STANDARD_ERRORS * pl.col("difference").std() / pl.len().sqrt(),
        )
        .with_columns(worse=pl.col("difference") > pl.col("noise").fill_null(0.0))
        .sort("outcome")
    )


def decide(candidate: Evaluation, champion: Evaluation | None) -> Decision:
    if champion is None:
        return Decision(True, f"no champion yet: the candidate (log loss {candidate.log_loss:.4f}) becomes it")
    if candidate.fingerprint != champion.fingerprint:
        raise ValueError(
            f"candidate and champion were evaluated on different data ({candidate.fingerprint} vs "
            f"{champion.fingerprint}); evaluate the champion's recipe on the candidate's data first"
        )
    verdict = (
        f"candidate {candidate.log_loss:.4f} vs champion {champion.log_loss:.4f} "
        f"over {candidate.races} races, both modes"
    )
    if candidate.log_loss >= champion.log_loss:
        return Decision(False, f"kept the champion: {verdict}")
    compared = outcome_comparison(candidate, champion)
    if not compared.is_empty():
        worse = compared.filter("worse")
        if not worse.is_empty():
            listed = "; ".join(
                f"{row['outcome']} {row['candidate']:.4f} vs {row['champion']:.4f} (+{row['difference']:.4f}, "
                f"noise {row['noise']:.4f})"
                for row in worse.iter_rows(named=True)
            )
            return Decision(
                False,
                f"kept the champion: {verdict}, but the candidate is worse beyond paired noise on {listed}",
                tuple(worse["outcome"]),
            )
        return Decision(True, f"promoted: {verdict}; no published outcome worse beyond paired noise")
    if candidate.podium_log_loss is None or champion.podium_log_loss is None:
        return Decision(True, f"promoted: {verdict} (podium not compared: not measured for both)")
    podium = f"podium log loss {candidate.podium_log_loss:.4f} vs {champion.podium_log_loss:.4f}"
    if candidate.podium_log_loss > champion.podium_log_loss * (1 + PODIUM_MARGIN):
        return Decision(
            False,
            f"kept the champion: {verdict}, but the candidate's {podium} is more than {PODIUM_MARGIN:.0%} worse",
            ("podium",),
        )
    return Decision(True, f"promoted: {verdict}; {podium}")
