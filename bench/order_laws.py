"""Other laws of the classified order behind the winner, measured against each other (BENCHMARKS.md, "Other laws of
the order behind the winner" and "Trouble on every car and more on the front runners"); after qualifying the
published law is one of them (share 0.1, front 0.1, kappa 1).

Each law keeps every car's P(win) and P(classified) and changes only how the places behind the winner are shared:
- `discount` (beta): the winner is drawn with the model's P(win); given the winner, the other cars are classified
  with the reliability model's chance (adjusted so that each car's P(classified) stays its own) and cross the line
  in an exponential race of the solved strengths raised to beta: beta < 1 spreads a favourite who does not win over
  more places, beta > 1 keeps him closer to the front (beta = 1 is the published law to within 1e-3);
- `pace` (alpha): the same, with the strengths behind the winner a geometric blend of the post-qualifying ones and
  the pre-qualifying P(win) (alpha = 1: the race pace without the grid);
- `slot` (lambda): the same, with the strengths behind the winner multiplied by lambda per starting slot (pit lane
  last): places that follow the grid more than the win chances say;
- `front` (share, front, kappa): trouble (`outcomes.Trouble`, down to 0.01 of a car's strength in three levels) whose
  share falls with the car's P(win): share + front * (p / the race's largest p)^kappa; kappa = 0 is one share for
  every car (the kind published before qualifying), kappa = 1 with share 0.1 and front 0.1 the law published after
  qualifying.

Scored as `bench.trouble` scores the trouble mixtures: the validation seasons 2010-2013 walk-forward with the tuned
recipe, the backtest seasons from the warehouse's published walk-forward predictions; `--walk-forward` chooses the
post-qualifying law of each backtest season from every season before it; `--season` scores a season the laws were
not looked at on; `--rolling` chooses the trouble race by race from the published races just before it (before
qualifying the published choice; after qualifying among no trouble, one share of 0.2 and the published law).

    python -m bench.order_laws [--mode post_qualifying] [--walk-forward | --season 2026 | --rolling]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl

from bench.trouble import outcome_table, predictions
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import outcome_scores
from f1_pipeline.modeling.outcomes import (
    NO_TROUBLE,
    OUTCOME_COLUMNS,
    PODIUM,
    PROBABILITY_FLOOR,
    TOP6,
    FieldTrouble,
    classified_strengths,
    finishing_outcomes,
    joint_places,
)
from f1_pipeline.modeling.points import points_places
from f1_pipeline.modeling.race_trouble import TROUBLE_SHARES, race_losses, shares_by_race, trouble_of
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import RACE_FEATURES, RACE_PREDICTIONS
from f1_pipeline.warehouse import Warehouse

SCORED = ("podium", "top6", "points")
_BATCH = 4
"""Races per batch of the winner-conditioned fields (each race gives one field per possible winner)."""


@dataclass(frozen=True)
class Law:
    beta: float = 1.0
    alpha: float = 0.0
    slot: float = 1.0
    share: float = 0.0
    front: float = 0.0
    kappa: float = 0.0

    def __str__(self) -> str:
        if self.share or self.front:
            return f"trouble share {self.share} front {self.front} kappa {self.kappa}"
        return f"discount beta {self.beta} pace alpha {self.alpha} slot {self.slot}"


NONE = Law()
"""No trouble: the post-qualifying law published before 2026-12-06."""
DISCOUNTS = [Law(beta=beta) for beta in (0.9, 0.8, 0.7, 0.6, 0.5, 1.1, 1.25, 1.5)]
PACES = [Law(alpha=alpha) for alpha in (0.25, 0.5, 0.75, 1.0)]
SLOTS = [Law(beta=beta, slot=slot) for beta in (1.0, 0.8) for slot in (0.95, 0.9, 0.85, 0.8, 0.7)]
FRONTS = [Law(front=front, kappa=kappa) for front in (0.2, 0.3, 0.4) for kappa in (0.0, 0.5, 1.0, 2.0)]
_PUBLISHED_POST = trouble_of(TROUBLE_SHARES["post_qualifying"][0], "post_qualifying")
_SPEEDS = _PUBLISHED_POST.in_field(np.ones((1, 1))).speeds
"""The published trouble's slowed speeds, which every trouble law here shares."""
SHARED_FRONTS = [
    Law(share=share, front=front, kappa=kappa)
    for share in (0.1, 0.2)
    for front in (0.1, 0.2, 0.3)
    for kappa in (0.5, 1.0)
]
"""Trouble on every car and more on the front runners; the law published after qualifying is among them."""


def front_places(p: np.ndarray, classified: np.ndarray, law: Law, places: int) -> np.ndarray:
    """P(car j is classified in place r+1), (races, cars, places), with trouble whose share falls with P(win)."""
    result = np.zeros((*p.shape, places))
    for start in range(0, p.shape[0], 16):
        batch = slice(start, start + 16)
        share = law.share + law.front * (p[batch] / p[batch].max(axis=1, keepdims=True)) ** law.kappa
        trouble = FieldTrouble(np.where(p[batch] > 0, share, 0.0), _SPEEDS)
        s, c = classified_strengths(p[batch], classified[batch], trouble)
        result[batch], _ = joint_places(s, c, np.full(s.shape, -1), places, trouble)
    return result


def discounted_places(
    p: np.ndarray, classified: np.ndarray, pace: np.ndarray, slot: np.ndarray, law: Law, places: int
) -> np.ndarray:
    """P(car j is classified in place r+1), (races, cars, places): P(win) for the first place, then the sum over
    winners i of p_i times the place r of car j in the field without i (strengths s^beta blended with `pace`, times
    lambda to the power of the starting `slot`)."""
    real = p > 0
    s, c = classified_strengths(p, classified)
    after = np.where(real, np.clip((c - p) / np.maximum(1.0 - p, 1e-12), 0.0, 1.0), 0.0)
    u = np.where(real, (s**law.beta) ** (1 - law.alpha) * np.maximum(pace, PROBABILITY_FLOOR) ** law.alpha, 0.0)
    u = u * law.slot**slot
    races, cars = p.shape
    result = np.zeros((races, cars, places))
    result[:, :, 0] = p
    winner = np.eye(cars, dtype=bool)
    for start in range(0, races, _BATCH):
        batch = slice(start, start + _BATCH)
        size = u[batch].shape[0]
        field_u = np.repeat(u[batch], cars, axis=0)
        field_c = np.where(np.tile(winner, (size, 1)), 0.0, np.repeat(after[batch], cars, axis=0))
        behind, _ = joint_places(field_u, field_c, np.full(field_u.shape, -1), places - 1)
        behind = behind.reshape(size, cars, cars, -1)
        result[batch, :, 1 : 1 + behind.shape[3]] = np.einsum("bi,bijr->bjr", p[batch], behind)
    return result


def _race_slots(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's race (numbered in key order) and its place within the race's rows."""
    race = frame.select(pl.struct(RACE_KEY).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    slot = frame.select(pl.int_range(pl.len()).over(RACE_KEY)).to_series().to_numpy()
    return race, slot


def _matrix(frame: pl.DataFrame, column: str) -> np.ndarray:
    """(races, widest field) of a column, zero-padded; the frame sorted by race as `law_outcomes` sorts it."""
    race, slot = _race_slots(frame)
    matrix = np.zeros((race.max() + 1, slot.max() + 1))
    matrix[race, slot] = frame[column].to_numpy()
    return matrix


def law_outcomes(frame: pl.DataFrame, law: Law) -> pl.DataFrame:
    """One mode's predictions with the podium, top 6 and points chances of `law`."""
    rows = frame.sort(RACE_KEY)
    p = np.maximum(_matrix(rows, "probability"), 0.0)
    p = np.where(p > 0, np.maximum(p, PROBABILITY_FLOOR), 0.0)
    classified = np.where(p > 0, _matrix(rows.with_columns(_c=1 - pl.col("not_classified_probability")), "_c"), 0.0)
    points = rows["season"].map_elements(points_places, return_dtype=pl.Int64).to_numpy()
    width = min(max(TOP6, int(points.max())), p.shape[1])
    if law.share or law.front:
        places = front_places(p, classified, law, width)
    else:
        pace = _matrix(rows, "pre_probability") if law.alpha else p
        slot = _matrix(rows, "slot") if law.slot != 1.0 else np.zeros(p.shape)
        places = discounted_places(p, classified, pace, slot, law, width)
    race, slot = _race_slots(rows)
    cumulative = np.clip(np.cumsum(places, axis=2)[race, slot], 0.0, 1.0)
    return rows.drop("not_classified_probability", "teammate_ahead_probability", strict=False).with_columns(
        podium_probability=pl.Series(cumulative[:, PODIUM - 1]),
        top6_probability=pl.Series(cumulative[:, TOP6 - 1]),
        points_probability=pl.Series(cumulative[np.arange(len(points)), np.minimum(points, width) - 1]),
    )


def with_pace(frame: pl.DataFrame, mode: str) -> pl.DataFrame:
    """The rows of `mode`, each with the same driver's pre-qualifying P(win) (`pre_probability`, renormalised) and
    starting slot (`slot`, 0 = pole, the pit lane last) from its `grid`."""
    key = [*RACE_KEY, "driver_id"]
    pre = frame.filter(pl.col("mode") == "pre_qualifying").select(*key, pre_probability=pl.col("probability"))
    rows = frame.filter(pl.col("mode") == mode).join(pre, on=key, how="left")
    pace = pl.col("pre_probability").fill_null(0.0)
    start = pl.when(pl.col("grid") > 0).then(pl.col("grid")).otherwise(999)
    return rows.with_columns(
        pre_probability=pace / pace.sum().over(RACE_KEY),
        slot=(start.rank("ordinal").over(RACE_KEY) - 1).cast(pl.Float64),
    )


def summed(outcomes: pl.DataFrame, by: tuple[str, ...] = ("mode",)) -> pl.DataFrame:
    """The summed log loss per forecast of podium, top 6 and points per `by` group, and each one's."""
    scores = outcome_scores(outcomes.drop("probability"), by=by).filter(pl.col("outcome").is_in(SCORED))
    return scores.group_by(by).agg(
        summed=pl.col("driver_log_loss").sum(),
        nats=(pl.col("driver_log_loss") * pl.col("forecasts")).sum(),
        **{outcome: pl.col("driver_log_loss").filter(pl.col("outcome") == outcome).first() for outcome in SCORED},
    )


def grid(name: str, frame: pl.DataFrame, laws: list[Law]) -> None:
    for law in laws:
        print(f"{name}, {law}:", summed(law_outcomes(frame, law)).drop("mode").to_dicts()[0])


def walk_forward(frame: pl.DataFrame, laws: list[Law], seasons: list[int]) -> None:
    """Each season's law chosen from every season before it in the frame (lowest summed nats), then scored."""
    chances = {law: law_outcomes(frame, law) for law in laws}
    per_season = pl.concat(
        summed(outcomes, by=("mode", "season")).with_columns(law=pl.lit(str(law))) for law, outcomes in chances.items()
    )
    print(per_season.pivot("season", index="law", values="nats", sort_columns=True))
    by_name = {str(law): law for law in laws}
    chosen = []
    for season in seasons:
        past = per_season.filter(pl.col("season") < season).group_by("law").agg(pl.col("nats").sum())
        law = by_name[past.sort("nats")["law"][0]]
        print(f"{season}: {law}")
        chosen.append(chances[law].filter(pl.col("season") == season))
    print("chosen walk-forward:", outcome_table(pl.concat(chosen).drop("probability")))


def rolling(published: pl.DataFrame, mode: str, windows: tuple[int, ...]) -> None:
    """Trouble chosen race by race (`race_trouble.shares_by_race`): each race's law the one with the lowest summed log
    loss of podium, top 6 and points over the `window` published races before it (the first law before any, and
    everywhere with a window of 0), scored per period. Before qualifying the laws are one share for every car (0.4,
    none, 0.2 or 0.3; the published choice offers 0.4, 0.3 and 0.2); after qualifying the published law, none, or one
    share of 0.2. Only the warehouse's walk-forward predictions are used, as a pipeline step could."""
    rows = published.filter(pl.col("mode") == mode).drop(
        *(c for c in OUTCOME_COLUMNS if c != "not_classified_probability"), "trouble_share", strict=False
    )
    if mode == "pre_qualifying":
        first = TROUBLE_SHARES[mode][0]
        laws = [trouble_of(share, mode) for share in (first, *(s for s in (0.0, 0.2, 0.3, 0.4) if s != first))]
    else:
        laws = [_PUBLISHED_POST, NO_TROUBLE, dataclasses.replace(_PUBLISHED_POST, share=0.2, front=0.0)]
    keys = tuple(float(number) for number in range(len(laws)))
    chances = {
        key: finishing_outcomes(rows, by=("mode",), trouble=law).drop("teammate_ahead_probability")
        for key, law in zip(keys, laws, strict=True)
    }
    losses = race_losses(chances)
    newest = losses["season"].max()
    print("laws:", {int(key): str(law) for key, law in zip(keys, laws, strict=True)})
    for window in (0, *windows):
        picks = shares_by_race(losses, losses, keys, window)
        chosen = pl.concat(
            chances[key].join(picks.filter(pl.col("trouble_share") == key), on=RACE_KEY, how="semi") for key in keys
        ).drop("not_classified_probability")
        counts = {int(key): count for key, count in picks.group_by("trouble_share").len().sort("trouble_share").rows()}
        print(f"window {window or '0 (the first law)'}: laws chosen (races)", counts)
        for name, period in (
            ("through last season", pl.col("season") < newest),
            ("newest season", pl.col("season") == newest),
        ):
            print(f"  {name}:", summed(chosen.filter(period)).drop("mode").to_dicts()[0])
        print(outcome_table(chosen.filter(pl.col("season") < newest).drop("probability")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=PipelineSettings().warehouse_path)
    parser.add_argument("--mode", default="post_qualifying", choices=["pre_qualifying", "post_qualifying"])
    parser.add_argument("--walk-forward", action="store_true", help="choose each backtest season's law from before")
    parser.add_argument("--season", type=int, help="score the laws on this season only (walk-forward predictions)")
    parser.add_argument("--rolling", action="store_true", help="choose each race's law from the races before it")
    args = parser.parse_args()
    settings = PipelineSettings()
    store = Warehouse(args.warehouse, read_only=True)
    through = cast(int, store.read(RACE_FEATURES)["season"].max()) - 1
    pl.Config.set_tbl_rows(60).set_tbl_cols(20).set_tbl_width_chars(250)
    started = time.perf_counter()
    validation = list(range(settings.validation_first_season, settings.backtest_first_season))
    backtest = list(range(settings.backtest_first_season, through + 1))
    post = args.mode == "post_qualifying"
    laws = [NONE, *DISCOUNTS, *PACES, *SLOTS, *FRONTS, *SHARED_FRONTS] if post else [NONE, *FRONTS]
    if args.season:
        frame = with_pace(predictions(store, [args.season], settings.train_first_season), args.mode)
        grid(f"season {args.season}", frame, [NONE, *FRONTS, *(SHARED_FRONTS if post else [])])
    elif args.rolling:
        rolling(store.read(RACE_PREDICTIONS), args.mode, (20, 40, 80))
    elif args.walk_forward:
        frame = with_pace(predictions(store, [*validation, *backtest], settings.train_first_season), args.mode)
        walk_forward(frame, [NONE, *(law for law in FRONTS if law.kappa <= 1.0)], backtest)
    else:
        grid("validation", with_pace(predictions(store, validation, settings.train_first_season), args.mode), laws)
        starts = store.read(RACE_FEATURES).select(*RACE_KEY, "driver_id", "grid")
        published = store.read(RACE_PREDICTIONS).filter(pl.col("season").is_between(backtest[0], through))
        published = published.join(starts, on=[*RACE_KEY, "driver_id"], how="left")
        grid("backtest (published)", with_pace(published, args.mode), laws)
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
