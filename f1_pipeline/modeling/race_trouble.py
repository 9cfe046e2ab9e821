"""How much trouble the published race law gives each race (`outcomes.Trouble`), chosen from the races before it.

How often a classified car's race goes wrong changes from season to season more than one fixed share can follow
(BENCHMARKS.md, "Honest outcomes"). Before qualifying, each race's share is therefore the one of `TROUBLE_SHARES`
whose podium, top 6 and points chances scored best (summed binary log loss) over the `TROUBLE_WINDOW` completed
races just before it, in the same predictions; a race with none before it gets the first share, the one the
validation seasons chose. Point in time: a race's share depends only on results known before it.

After qualifying one law is listed, so nothing is chosen there: every car's race goes wrong with chance 0.1 plus
`FRONT` times its P(win) against the favourite's. The grid puts the fastest cars in front, and a front runner who
does not win loses places more often than the midfield does (without trouble the law gives the pole sitter the podium
more often than he reaches it, and the cars starting second and third less often); choosing the law race by race
there scored no better than this one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import outcome_race_scores
from f1_pipeline.modeling.outcomes import NO_TROUBLE, Trouble

TROUBLE_SHARES: dict[str, tuple[float, ...]] = {
    "pre_qualifying": (0.4, 0.3, 0.2),
    "post_qualifying": (0.1,),
}
"""The shares each mode chooses among, the first used where no race came before. A troubled car is slowed down to
a fifth, a twentieth or a hundredth of its strength, each as likely (`trouble_of`)."""
FRONT: dict[str, float] = {"pre_qualifying": 0.0, "post_qualifying": 0.1}
"""What each mode adds to the share of the race favourite, and to the others' in proportion to their P(win)
(`Trouble.front`). The laws of both modes were compared on every season 2010-2025 together (BENCHMARKS.md)."""
TROUBLE_WINDOW = 40
"""Completed races whose scores choose a race's share: two seasons. 20 and 80 were measured too (BENCHMARKS.md)."""
SCORED = ("podium", "top6", "points")
"""The chances the share is chosen on: the ones trouble changes (P(win) and P(classified) it keeps)."""


def trouble_of(share: float, mode: str) -> Trouble:
    """The law of a published share. A share the mode does not list any more comes from a publication made before
    its law changed (after qualifying: 0, no trouble), and is rebuilt as it was published then: without a front."""
    front = FRONT[mode] if share in TROUBLE_SHARES[mode] else 0.0
    return Trouble(share=share, slowdown=0.01, levels=3, front=front) if share or front else NO_TROUBLE


def race_losses(chances: Mapping[float, pl.DataFrame]) -> pl.DataFrame:
    """Per completed race (one mode's predictions with results: `won`, `finish_position`, `constructor_id`), each
    share's summed log loss of `SCORED` (a column per share, named by it), in race order."""
    per_share = [
        outcome_race_scores(outcomes.with_columns(_model=pl.lit(0)), by=("_model",))
        .filter(pl.col("outcome").is_in(SCORED))
        .group_by(*RACE_KEY)
        .agg(pl.col("driver_log_loss").sum().alias(str(share)))
        for share, outcomes in chances.items()
    ]
    losses = per_share[0]
    for part in per_share[1:]:
        losses = losses.join(part, on=RACE_KEY)
    return losses.sort(RACE_KEY)


def shares_by_race(
    races: pl.DataFrame, losses: pl.DataFrame, shares: tuple[float, ...], window: int = TROUBLE_WINDOW
) -> pl.DataFrame:
    """season, round, trouble_share for each of `races` (season, round): the share with the lowest summed loss over
    the `window` races of `losses` before it; the first share where there is none."""
    table = losses.select(*RACE_KEY, *(str(share) for share in shares))
    scores = table.select(str(share) for share in shares).to_numpy()
    order = table.select(pl.col("season") * 1000 + pl.col("round")).to_series().to_numpy()
    chosen = []
    for season, round_ in races.select(RACE_KEY).unique().sort(RACE_KEY).iter_rows():
        before = int(np.searchsorted(order, season * 1000 + round_))
        past = scores[max(0, before - window) : before]
        chosen.append(shares[int(np.argmin(past.sum(axis=0)))] if len(past) else shares[0])
    return (
        races.select(RACE_KEY).unique().sort(RACE_KEY).with_columns(trouble_share=pl.Series(chosen, dtype=pl.Float64))
    )
