"""The promotion gate: a candidate replaces the champion only when it does better on the same evaluation.

"The same evaluation" is the same walk-forward over the same feature rows, identified by a fingerprint; two
numbers from different data are never compared (the gate raises instead).

The criterion is the winner log loss. A guard keeps a candidate that wins on it by sacrificing the rest of the
finishing order out: it is refused when its podium log loss (top-3 membership, from its win distribution read as a
Plackett-Luce order) is more than `PODIUM_MARGIN` worse than the champion's, relatively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import polars as pl

from f1_pipeline.modeling.backtest import race_scores
from f1_pipeline.modeling.metrics import PODIUM_BASELINE, podium_scores

EVALUATION_METRIC = "log_loss"
"""Mean -ln p(winner) per race over both modes: the probability of what happened, which is what we sell."""
PODIUM_METRIC = "podium_log_loss"
PODIUM_MARGIN = 0.05
""""Clearly worse" on the podium: a mean podium log loss more than 5% above the champion's. Measured on the
walk-forward 2014-2025 (252 races, post-qualifying), the paired per-race difference between two models has a
two-standard-error half-width of 4-5% of the podium log loss (4.3% conditional logit against the ELO + grid
logistic, 5.3% against the grid-slot win rate), so a smaller gap is within the races' noise."""


@dataclass(frozen=True)
class Evaluation:
    log_loss: float
    """Mean over every (race, mode) scored."""
    races: int
    fingerprint: str
    podium_log_loss: float | None = None
    """Mean top-3 membership log loss over the same (race, mode)s; None when not measured (an older version)."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def evaluation_of(predictions: pl.DataFrame, fingerprint: str) -> Evaluation:
    """The gate's number for one model's walk-forward predictions (one `model`, any number of modes)."""
    scores = race_scores(predictions)
    races = scores.select("season", "round").n_unique()
    podium = (
        cast(float, podium_scores(predictions.drop(PODIUM_BASELINE, strict=False))[PODIUM_METRIC].mean())
        if {"podium_probability", "finish_position"} <= set(predictions.columns)
        else None
    )
    return Evaluation(
        log_loss=cast(float, scores[EVALUATION_METRIC].mean()),
        races=races,
        fingerprint=fingerprint,
        podium_log_loss=podium,
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
    if candidate.podium_log_loss is None or champion.podium_log_loss is None:
        return Decision(True, f"promoted: {verdict} (podium not compared: not measured for both)")
    podium = f"podium log loss {candidate.podium_log_loss:.4f} vs {champion.podium_log_loss:.4f}"
    if candidate.podium_log_loss > champion.podium_log_loss * (1 + PODIUM_MARGIN):
        return Decision(
            False, f"kept the champion: {verdict}, but the candidate's {podium} is more than {PODIUM_MARGIN:.0%} worse"
        )
    return Decision(True, f"promoted: {verdict}; {podium}")
