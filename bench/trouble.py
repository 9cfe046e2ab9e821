"""Choose how often and how much a race goes wrong for a classified car (`outcomes.Trouble`), on the validation
seasons, and score the choice on the backtest seasons.

Reads a quick start's warehouse (the race features, the tuned recipes, the results): the tuned recipe of each mode
predicts every race of the validation and backtest seasons walk-forward (trained on the seasons before each one),
the reliability model gives each car's chance of not being classified, and every grid point of the mixture turns
both into podium, top 6 and points chances, scored as binary forecasts (log loss, expected calibration error and the
largest gap between forecast and observed rate in a bin of at least 50 forecasts). Per mode, the grid point with the
lowest summed log loss of the three outcomes on the validation seasons is the one chosen; the backtest seasons are
then scored without and with it (`race_trouble.TROUBLE_SHARES` started from the choice before qualifying; the law
after qualifying came later, from `bench.order_laws`).
Prints the tables. With --published, scores the warehouse's published walk-forward predictions instead (every
chance, with its reliability table): the numbers BENCHMARKS.md reports.

    python -m bench.trouble [--warehouse warehouse/f1.duckdb] [--through 2025] [--published]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl

from f1_pipeline.modeling.backtest import walk_forward
from f1_pipeline.modeling.candidates import Recipe, recipes_from_json
from f1_pipeline.modeling.feature_matrix import MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import CALIBRATION_BINS, outcome_calibration, outcome_rows, outcome_scores
from f1_pipeline.modeling.outcomes import NO_TROUBLE, Trouble, finishing_outcomes
from f1_pipeline.modeling.reliability import ReliabilityInputs, not_classified_probabilities
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import RACE_FEATURES, RACE_PREDICTIONS, RACE_RESULTS, RACES, RECIPES
from f1_pipeline.warehouse import Warehouse

SHARES = (0.0, 0.2, 0.3, 0.4, 0.5)
SLOWDOWNS = (0.1, 0.05, 0.02, 0.01)
LEVELS = (1, 3)
SCORED = ("podium", "top6", "points")
BIN_FLOOR = 50


def predictions(store: Warehouse, seasons: list[int], train_first: int) -> pl.DataFrame:
    """Each mode's tuned recipe, walk-forward over `seasons`, with each row's team, result and reliability."""
    frame = store.read(RACE_FEATURES)
    recipes = _recipes(store)

    def lineup(mode: Mode) -> dict[str, object]:
        return {"recipe": recipes[mode].build(mode)}

    predicted = walk_forward(frame, lineup, list(recipes), seasons, train_first).drop("model")  # type: ignore[arg-type]
    key = [*RACE_KEY, "driver_id"]
    rows = frame.select(*key, "constructor_id", "grid", "finish_position").join(
        predicted.select(RACE_KEY).unique(), on=RACE_KEY, how="semi"
    )
    inputs = ReliabilityInputs(results=store.read(RACE_RESULTS), races=store.read(RACES))
    failing = not_classified_probabilities(inputs, rows.select(*key, "constructor_id", "grid"))
    return predicted.join(rows, on=key, how="left").join(failing, on=["mode", *key], how="left")


def _recipes(store: Warehouse) -> dict[Mode, Recipe]:
    """The tuned recipes; before any tuning, Plackett-Luce with its default hyper-parameters in both modes."""
    if str(RECIPES) not in store.tables():
        return dict.fromkeys(MODES, Recipe("plackett_luce"))
    return {
        row["mode"]: recipes_from_json(row["recipe"])[row["mode"]] for row in store.read(RECIPES).iter_rows(named=True)
    }


def scores(frame: pl.DataFrame, trouble: Trouble) -> pl.DataFrame:
    """The podium, top 6 and points chances of the race law with `trouble`, scored (`outcome_table`)."""
    outcomes = finishing_outcomes(frame, by=("mode",), trouble=trouble)
    return outcome_table(outcomes.drop("probability", "not_classified_probability", "teammate_ahead_probability"))


def outcome_table(outcomes: pl.DataFrame) -> pl.DataFrame:
    """mode, outcome, forecasts, log loss, Brier, ECE, the calibration test's p-value, the largest gap in a bin of
    >= `BIN_FLOOR` forecasts and how many such bins lie outside what calibrated forecasts would show, of every chance
    the frame carries."""
    bins = outcome_calibration(outcomes, by=("mode",)).filter(pl.col("count") >= BIN_FLOOR)
    gaps = bins.group_by("mode", "outcome").agg(
        largest_gap=(pl.col("observed_rate") - pl.col("mean_probability")).abs().max(),
        beyond_noise=(~pl.col("observed_rate").is_between(pl.col("band_low"), pl.col("band_high"))).sum(),
    )
    return (
        outcome_scores(outcomes, by=("mode",))
        .join(gaps, on=["mode", "outcome"])
        .select(
            "mode",
            "outcome",
            "forecasts",
            "driver_log_loss",
            "driver_brier",
            "ece",
            "calibration_p_value",
            "largest_gap",
            "beyond_noise",
        )
        .sort("mode", "outcome")
    )


def calibrated_reference(outcomes: pl.DataFrame, draws: int = 2000, seed: int = 2014) -> pl.DataFrame:
    """What forecasts calibrated in truth would score on the same forecasts: each forecast comes true with its own
    probability, `draws` times. Per mode and outcome: the median and 95th percentile of their ECE, and how often every
    bin of >= `BIN_FLOOR` forecasts lands within 4 points of its mean forecast (the issue's bin goal)."""
    rng = np.random.default_rng(seed)
    rows = []
    long = outcome_rows(outcomes, by=("mode",))
    for (mode, outcome), group in long.group_by("mode", "outcome", maintain_order=True):
        forecast = group["forecast"].to_numpy()
        bin_of = np.clip((forecast * CALIBRATION_BINS).astype(int), 0, CALIBRATION_BINS - 1)
        members = np.eye(CALIBRATION_BINS)[bin_of].T
        count = members.sum(axis=1)
        kept = count > 0
        mean = members[kept] @ forecast / count[kept]
        happened = rng.random((forecast.size, draws)) < forecast[:, None]
        observed = members[kept] @ happened / count[kept, None]
        gap = np.abs(observed - mean[:, None])
        ece = (gap * count[kept, None]).sum(axis=0) / forecast.size
        large = count[kept] >= BIN_FLOOR
        rows.append(
            {
                "mode": mode,
                "outcome": outcome,
                "calibrated_ece_median": float(np.median(ece)),
                "calibrated_ece_95": float(np.quantile(ece, 0.95)),
                "chance_every_bin_within_4_points": float(np.mean((gap[large] <= 0.04).all(axis=0))),
            }
        )
    return pl.DataFrame(rows).sort("mode", "outcome")


def reliability_tables(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Every bin of every chance, with the gap between observed rate and mean forecast."""
    bins = outcome_calibration(outcomes, by=("mode",))
    return bins.with_columns(gap=pl.col("observed_rate") - pl.col("mean_probability")).sort("mode", "outcome", "bin")


def grid(frame: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for share, slowdown, levels in itertools.product(SHARES, SLOWDOWNS, LEVELS):
        if share == 0.0 and (slowdown, levels) != (SLOWDOWNS[0], LEVELS[0]):
            continue
        trouble = Trouble(share, slowdown, levels) if share else NO_TROUBLE
        table = scores(frame, trouble)
        rows.append(
            {
                "share": share,
                "slowdown": slowdown if share else 1.0,
                "levels": levels,
                "summed_log_loss": table["driver_log_loss"].sum(),
                **{f"{mode[:4]}_sum": table.filter(pl.col("mode") == mode)["driver_log_loss"].sum() for mode in MODES},
                **{
                    f"{row['mode'][:4]}_{row['outcome']}": f"{row['driver_log_loss']:.4f}/{row['ece']:.3f}"
                    for row in table.iter_rows(named=True)
                },
            }
        )
    return pl.DataFrame(rows).sort("summed_log_loss")


def season_scores(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[Trouble, pl.DataFrame]]:
    """Per mixture of the grid: the summed log loss of podium, top 6 and points per mode and season, and the chances
    themselves (so a walk-forward choice can be scored without computing them again)."""
    sums, chances = [], {}
    for share, slowdown, levels in itertools.product(SHARES, SLOWDOWNS, LEVELS):
        if share == 0.0 and (slowdown, levels) != (SLOWDOWNS[0], LEVELS[0]):
            continue
        trouble = Trouble(share, slowdown, levels) if share else NO_TROUBLE
        outcomes = finishing_outcomes(frame, by=("mode",), trouble=trouble).drop(
            "probability", "not_classified_probability", "teammate_ahead_probability"
        )
        chances[trouble] = outcomes
        scored = outcome_scores(outcomes, by=("mode", "season")).filter(pl.col("outcome").is_in(SCORED))
        sums.append(
            scored.group_by("mode", "season")
            .agg(summed=(pl.col("driver_log_loss") * pl.col("forecasts")).sum())
            .with_columns(share=pl.lit(share), slowdown=pl.lit(trouble.slowdown), levels=pl.lit(trouble.levels))
        )
    return pl.concat(sums), chances


def walk_forward_choice(frame: pl.DataFrame, seasons: list[int]) -> pl.DataFrame:
    """The mixture chosen for each season and mode from every season before it in the frame (lowest summed log loss
    per forecast of podium, top 6 and points), and the chances of `seasons` each with its season's choice, scored."""
    sums, chances = season_scores(frame)
    chosen_parts, choices = [], []
    for mode in MODES:
        for season in seasons:
            past = sums.filter((pl.col("mode") == mode) & (pl.col("season") < season))
            best = past.group_by("share", "slowdown", "levels").agg(pl.col("summed").sum()).sort("summed").row(0)
            trouble = Trouble(best[0], best[1], best[2]) if best[0] else NO_TROUBLE
            choices.append(
                {
                    "mode": mode,
                    "season": season,
                    "share": trouble.share,
                    "slowdown": trouble.slowdown,
                    "levels": trouble.levels,
                }
            )
            chosen_parts.append(chances[trouble].filter((pl.col("mode") == mode) & (pl.col("season") == season)))
    print(pl.DataFrame(choices))
    return outcome_table(pl.concat(chosen_parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=PipelineSettings().warehouse_path)
    parser.add_argument(
        "--through", type=int, help="the last backtest season scored (default: the one before the newest)"
    )
    parser.add_argument(
        "--published", action="store_true", help="only score the published walk-forward predictions of the warehouse"
    )
    parser.add_argument(
        "--walk-forward",
        action="store_true",
        help="choose the mixture for each backtest season from every season before it (from the validation seasons)",
    )
    args = parser.parse_args()
    settings = PipelineSettings()
    store = Warehouse(args.warehouse, read_only=True)
    through = args.through or cast(int, store.read(RACE_FEATURES)["season"].max()) - 1
    backtest_seasons = list(range(settings.backtest_first_season, through + 1))
    pl.Config.set_tbl_rows(200).set_tbl_cols(20).set_tbl_width_chars(250).set_fmt_str_lengths(20)
    if args.published:
        published = store.read(RACE_PREDICTIONS).filter(pl.col("season").is_in(backtest_seasons))
        print(f"published predictions, seasons {backtest_seasons[0]}-{through}:")
        print(outcome_table(published))
        print(reliability_tables(published))
        print("what calibrated forecasts would score on the same forecasts:")
        print(calibrated_reference(published))
        return
    started = time.perf_counter()
    validation_seasons = list(range(settings.validation_first_season, settings.backtest_first_season))
    if args.walk_forward:
        frame = predictions(store, [*validation_seasons, *backtest_seasons], settings.train_first_season)
        print(f"walk-forward predictions: {time.perf_counter() - started:.0f} s")
        print(walk_forward_choice(frame, backtest_seasons))
        print(f"whole: {time.perf_counter() - started:.0f} s")
        return
    validation = predictions(store, validation_seasons, settings.train_first_season)
    backtest = predictions(store, backtest_seasons, settings.train_first_season)
    print(f"walk-forward predictions: {time.perf_counter() - started:.0f} s")
    table = grid(validation)
    print(f"validation seasons {validation_seasons[0]}-{validation_seasons[-1]}:")
    print(table)
    for mode in MODES:
        best = table.sort(f"{mode[:4]}_sum").row(0, named=True)
        chosen = Trouble(best["share"], best["slowdown"], best["levels"]) if best["share"] else NO_TROUBLE
        print(f"{mode}: chosen {chosen}; backtest seasons {backtest_seasons[0]}-{through}, without and with it:")
        rows = backtest.filter(pl.col("mode") == mode)
        for trouble in (NO_TROUBLE, chosen):
            print(trouble)
            print(scores(rows, trouble))


if __name__ == "__main__":
    main()
