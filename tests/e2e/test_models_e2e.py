"""End to end: the whole asset graph (ingest -> ratings -> features -> models -> predictions) on seasons 2012-2026,
then what a user checks: the next race's predictions, the registry read with a plain MlflowClient, the backtest
against its baselines, and the promotion gate refusing a worse candidate."""

import dagster as dg
import polars as pl
import pytest
from mlflow import MlflowClient

from f1_pipeline.definitions import build_definitions
from f1_pipeline.modeling.metrics import race_metrics
from f1_pipeline.tables import (
    BACKTEST_PREDICTIONS,
    BACKTEST_SUMMARY,
    NEXT_RACE,
    PREDICTION_ACCURACY,
    PROMOTIONS,
    RACE_PREDICTIONS,
    RACES,
)
from tests.conftest import warehouse_of


def test_whole_graph_materializes_and_every_check_passes(trained):
    _, result = trained
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {"elo_ratings", "race_features", "model_tuning", "model_backtest", "candidate_model"} <= materialized
    assert {"champion_model", "next_race_predictions", "race_predictions", "prediction_accuracy"} <= materialized
    evaluations = result.get_asset_check_evaluations()
    assert {"check_elo_ratings_world_champion_top_rated", "check_model_backtest_candidate_beats_baselines"} <= {
        e.check_name for e in evaluations
    }
    # Errors block; a warning (the candidate against baselines on two seasons of training data) may not pass here.
    failed = [e.check_name for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert failed == []


def test_next_race_is_predicted_for_every_entrant_and_sums_to_one(trained):
    settings, _ = trained
    table = warehouse_of(settings).read(NEXT_RACE)
    assert table.select("season", "round", "race_name").unique().rows() == [(2026, 12, "Dutch Grand Prix")]
    assert table["mode"].unique().to_list() == ["pre_qualifying"]  # the bundled data has no Dutch GP qualifying
    assert table.height == 22
    assert table["probability"].sum() == pytest.approx(1.0)
    assert table["rank"].to_list() == list(range(1, 23))
    assert table["probability"].is_sorted(descending=True)
    assert table["model_version"].unique().to_list() == ["1"]


def test_registry_holds_the_champion_with_its_metrics(trained):
    settings, _ = trained
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    champion = client.get_model_version_by_alias(settings.registered_model_name, "champion")
    assert str(champion.version) == "1"
    run = client.get_run(champion.run_id)
    assert run.data.metrics["evaluation_log_loss"] == pytest.approx(float(champion.tags["evaluation_log_loss"]))
    assert {"post_qualifying.log_loss", "pre_qualifying.top1"} <= set(run.data.metrics)
    assert run.data.tags["data_fingerprint"] == champion.tags["evaluation_fingerprint"]
    artifacts = {item.path for item in client.list_artifacts(champion.run_id, "figures")}
    assert "figures/calibration.png" in artifacts


def test_backtest_scores_recomputed_from_its_predictions(trained):
    settings, _ = trained
    store = warehouse_of(settings)
    predictions = store.read(BACKTEST_PREDICTIONS)
    summary = store.read(BACKTEST_SUMMARY)
    baselines = {"pole_sitter", "grid_slot_rate", "elo_only", "elo_grid_logistic", "championship_leader"}
    assert baselines <= set(summary["model"])
    completed = store.query(
        f"select count(*) from {RACES} where status = 'completed' and season between 2025 and 2026"
    ).item()
    for (model, mode), group in predictions.group_by("model", "mode"):
        scores = race_metrics(group, group["probability"].to_numpy())
        assert scores.height == completed
        row = summary.filter(model=model, mode=mode)
        assert row["log_loss"].item() == pytest.approx(scores["log_loss"].mean())
        assert row["top1"].item() == pytest.approx(scores["top1"].cast(pl.Float64).mean())


def test_prediction_accuracy_has_every_backtested_race_in_both_modes(trained):
    settings, _ = trained
    store = warehouse_of(settings)
    accuracy = store.read(PREDICTION_ACCURACY)
    races = store.read(RACE_PREDICTIONS).select("season", "round").n_unique()
    assert accuracy.height == 2 * races
    assert set(accuracy.columns) >= {"brier", "log_loss", "correct_winner", "winner_in_top3", "model_version"}


def test_a_worse_candidate_is_registered_but_not_promoted(trained):
    settings, _ = trained
    definitions = build_definitions(settings)
    job = definitions.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey("candidate_model"), dg.AssetKey("champion_model")],
        run_config={"ops": {"candidate_model": {"config": {"family": "random_forest"}}}},
    )
    assert result.success
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    versions = client.search_model_versions(f"name = '{settings.registered_model_name}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    worse = client.get_model_version(settings.registered_model_name, "2")
    best = client.get_model_version(settings.registered_model_name, "1")
    assert float(worse.tags["evaluation_log_loss"]) > float(best.tags["evaluation_log_loss"])
    assert str(client.get_model_version_by_alias(settings.registered_model_name, "champion").version) == "1"
    promotion = warehouse_of(settings).read(PROMOTIONS).tail(1)
    assert promotion["action"].item() == "refusal"
    assert promotion["candidate_version"].item() == "2"
    assert promotion["resulting_champion_version"].item() == promotion["previous_champion_version"].item() == "1"
    assert promotion["decided_by"].item() == result.run_id
