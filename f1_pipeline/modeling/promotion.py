"""The promotion gate: a candidate replaces the champion only when it does better on the same evaluation.

"The same evaluation" is the same walk-forward over the same feature rows, identified by a fingerprint; two
numbers from different data are never compared (the gate raises instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from f1_pipeline.modeling.backtest import race_scores

EVALUATION_METRIC = "log_loss"
"""Mean -ln p(winner) per race over both modes: the probability of what happened, which is what we sell."""


@dataclass(frozen=True)
class Evaluation:
    log_loss: float
    """Mean over every (race, mode) scored."""
    races: int
    fingerprint: str


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def evaluation_of(predictions: pl.DataFrame, fingerprint: str) -> Evaluation:
    """The gate's number for one model's walk-forward predictions (one `model`, any number of modes)."""
    scores = race_scores(predictions)
    races = scores.select("season", "round").n_unique()
    return Evaluation(log_loss=float(scores[EVALUATION_METRIC].mean()), races=races, fingerprint=fingerprint)


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
    if candidate.log_loss < champion.log_loss:
        return Decision(True, f"promoted: {verdict}")
    return Decision(False, f"kept the champion: {verdict}")
