"""Time the whole asset graph (every season, default tuning trials) and measure model quality.

One in-process run of the `main` job into a fresh warehouse, MLflow store and Optuna storage: ingest, clean,
ratings, features, tuning, walk-forward backtest, candidate, promotion and predictions. Prints the time per
asset and the backtest quality (2014-2025, and 2026 to date) of the candidate beside the baselines; with --write,
replaces both blocks in BENCHMARKS.md.

    python -m bench.graph [--write]
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl

from bench.report import machine, write_block
from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs.partitions import season_partitions
from f1_pipeline.modeling.backtest import race_scores
from f1_pipeline.modeling.metrics import summarise
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import BACKTEST_PREDICTIONS, RECIPES
from f1_pipeline.warehouse import Warehouse

TARGET_SECONDS = 600.0
GOALS = {
    "post_qualifying": {"top1": (">=", 0.57), "log_loss": ("<=", 1.20)},
    "pre_qualifying": {"top1": (">=", 0.50), "log_loss": ("<=", 1.42)},
}
"""The quality goals of the finishing-order models, judged on the 2014-2025 walk-forward."""
SHOWN = (
    "candidate",
    "plackett_luce",
    "conditional_logit",
    "conditional_logit_core_features",
    "logit_tree_blend",
    "rf_xgb_average",
    "random_forest",
    "xgboost",
)


def run_graph(workdir: Path) -> tuple[PipelineSettings, float, dict[str, float]]:
    settings = PipelineSettings(
        warehouse_path=workdir / "f1.duckdb",
        mlflow_tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}",
        mlflow_artifact_location=(workdir / "mlartifacts").as_uri(),
        optuna_storage=f"sqlite:///{workdir / 'optuna.db'}",
    )
    keys = season_partitions.get_partition_keys()
    job = build_definitions(settings).resolve_job_def("main")
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    elapsed = time.perf_counter() - started
    assert result.success
    stats = instance.get_run_step_stats(result.run_id)
    return settings, elapsed, {stat.step_key: (stat.end_time or 0) - (stat.start_time or 0) for stat in stats}


def timing_block(elapsed: float, steps: dict[str, float], trials: int) -> str:
    slowest = sorted(((seconds, step) for step, seconds in steps.items() if "_check_" not in step), reverse=True)
    rows = [f"| `{step}` | {seconds:.1f} s |" for seconds, step in slowest[:8]]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return "\n".join(
        [
            f"Whole graph (`main` job), seasons 1950-2026, {trials} Optuna trials per estimator and mode, one run. "
            f"Target: under {TARGET_SECONDS / 60:.0f} minutes.",
            "",
            "| step | wall time |",
            "|---|---|",
            f"| **whole run** | **{elapsed:.0f} s ({elapsed / 60:.1f} min)** |",
            *rows,
            f"| peak memory | {peak:.0f} MiB |",
            "",
            f"Machine: {machine()}. Measured {time.strftime('%Y-%m-%d', time.gmtime())}.",
        ]
    )


def quality(settings: PipelineSettings) -> pl.DataFrame:
    """Per-race metrics of every model of the backtest, summarised per period, mode and model."""
    predictions = Warehouse(settings.warehouse_path, read_only=True).read(BACKTEST_PREDICTIONS)
    scores = race_scores(predictions).with_columns(
        period=pl.when(pl.col("season") <= 2025).then(pl.lit("2014-2025")).otherwise(pl.col("season").cast(pl.String))
    )
    return summarise(scores, by=["period", "mode", "model"])


def quality_block(summary: pl.DataFrame, families: dict[str, str]) -> str:
    lines = []
    for mode in ("post_qualifying", "pre_qualifying"):
        for period in summary["period"].unique().sort().to_list():
            rows = summary.filter(period=period, mode=mode).sort("log_loss")
            lines += [
                f"**{mode.replace('_', '-')}, {period}** ({rows['races'][0]} races; candidate = `{families[mode]}`)",
                "",
                "| model | log loss | Brier | top-1 | top-3 |",
                "|---|---|---|---|---|",
                *(
                    f"| {_name(row['model'])} | {row['log_loss']:.3f} | {row['brier']:.3f} | {row['top1']:.1%} "
                    f"| {row['top3']:.1%} |"
                    for row in rows.iter_rows(named=True)
                ),
                "",
            ]
    lines.append(goals_text(summary))
    return "\n".join(lines)


def goals_text(summary: pl.DataFrame) -> str:
    verdicts = []
    for mode, goals in GOALS.items():
        row = summary.filter(period="2014-2025", mode=mode, model="candidate").row(0, named=True)
        for metric, (sign, bound) in goals.items():
            met = row[metric] >= bound if sign == ">=" else row[metric] <= bound
            shown = f"{row[metric]:.1%}" if metric == "top1" else f"{row[metric]:.3f}"
            target = f"{bound:.0%}" if metric == "top1" else f"{bound}"
            verdicts.append(f"{mode} {metric} {shown} (goal {sign} {target}): {'met' if met else 'NOT met'}")
    return "Goals on 2014-2025: " + "; ".join(verdicts) + "."


def _name(model: str) -> str:
    return f"**{model}**" if model == "candidate" else model if model in SHOWN else f"{model} (baseline)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="replace the blocks in BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, elapsed, steps = run_graph(Path(tmp))
        families = dict(
            Warehouse(settings.warehouse_path, read_only=True).read(RECIPES).select("mode", "family").iter_rows()
        )
        summary = quality(settings)
    timing, quality_text = timing_block(elapsed, steps, settings.tuning_trials), quality_block(summary, families)
    print(timing, quality_text, sep="\n\n")
    if args.write:
        write_block("graph", timing)
        write_block("quality", quality_text)


if __name__ == "__main__":
    main()
