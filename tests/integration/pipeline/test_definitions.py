"""The code location loads, and its graph is the one the README describes."""

import itertools
import os
import subprocess
import sys

import dagster as dg

from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs.jobs import main_job, train_job
from f1_pipeline.settings import PipelineSettings

RAW = {"raw_races", "raw_results", "raw_qualifying", "raw_sprint", "raw_practice"}
WEATHER = {"raw_weather", "weather"}
CLEAN = {
    "races",
    "race_results",
    "sprint_results",
    "qualifying_results",
    "drivers",
    "constructors",
    "circuits",
    "practice_results",
}
MODELS = {"model_tuning", "model_backtest", "candidate_model", "champion_model", "championship_backtest"}
PREDICTIONS = {
    "next_race_predictions",
    "race_predictions",
    "prediction_accuracy",
    "championship_odds",
    "title_odds_by_round",
}


def test_definitions_load_and_validate(tmp_path):
    definitions = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w.duckdb"))
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        **dict.fromkeys(RAW, "raw"),
        **dict.fromkeys(CLEAN, "clean"),
        **dict.fromkeys(WEATHER, "weather"),
        "elo_ratings": "ratings",
        "race_features": "features",
        **dict.fromkeys(MODELS, "models"),
        **dict.fromkeys(PREDICTIONS, "predictions"),
        "serving_data": "serving",
    }
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, f"{key} has no description for the UI"


def test_raw_assets_are_partitioned_by_season_and_run_a_range_in_one_run(tmp_path):
    definitions = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w.duckdb"))
    graph = definitions.resolve_asset_graph()
    for name in RAW | {"raw_weather"}:
        node = graph.get(dg.AssetKey(name))
        keys = node.partitions_def.get_partition_keys()
        assert keys[0] == "1950"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert int(keys[-1]) >= 2026


def test_blocking_checks_guard_downstream(tmp_path):
    definitions = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w.duckdb"))
    graph = definitions.resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert checks["check_raw_results_keys"].blocking
    assert checks["check_race_results_integrity"].blocking
    assert not checks["check_race_results_values"].blocking
    assert checks["check_practice_results_integrity"].blocking
    assert not checks["check_practice_results_values"].blocking
    assert checks["check_elo_ratings_finite"].blocking
    assert checks["check_champion_model_alias_resolves"].blocking
    assert checks["check_next_race_predictions_sum_to_one"].blocking
    assert checks["check_next_race_outcomes_consistent"].blocking
    assert checks["check_race_predictions_outcomes_consistent"].blocking
    assert checks["check_championship_odds_sum_to_one"].blocking
    assert checks["check_serving_data_readable"].blocking
    assert not checks["check_model_backtest_candidate_beats_baselines"].blocking


def test_the_model_graph_runs_in_lineage_order(tmp_path):
    definitions = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w.duckdb"))
    graph = definitions.resolve_asset_graph()
    chain = ["race_results", "elo_ratings", "race_features", "model_tuning", "model_backtest", "candidate_model"]
    chain += ["champion_model", "next_race_predictions", "serving_data"]
    for upstream, downstream in itertools.pairwise(chain):
        assert dg.AssetKey(upstream) in graph.get(dg.AssetKey(downstream)).parent_keys


def test_executor_is_chosen_by_setting(tmp_path):
    multiprocess = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w", dagster_executor="multiprocess"))
    assert multiprocess.resolve_job_def("main").executor_def.name == "multiprocess"
    assert build_definitions(PipelineSettings()).resolve_job_def("main").executor_def.name == "in_process"


def test_importing_the_code_location_builds_nothing(tmp_path):
    warehouse = tmp_path / "never.duckdb"
    code = "import f1_pipeline.definitions as d; print(type(d.defs).__name__)"
    printed = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "F1_WAREHOUSE_PATH": str(warehouse)},
    ).stdout
    assert printed.strip() == "LazyDefinitions"  # evaluated only when Dagster loads the location
    assert not warehouse.exists()


def test_retraining_publishes_the_serving_data(tmp_path):
    definitions = build_definitions(PipelineSettings(warehouse_path=tmp_path / "w.duckdb"))
    graph = definitions.resolve_asset_graph()
    assert dg.AssetKey("serving_data") in train_job.selection.resolve(graph)
    assert dg.AssetKey("serving_data") in main_job.selection.resolve(graph)
