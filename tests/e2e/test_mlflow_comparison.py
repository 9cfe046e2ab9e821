"""The MLflow experiment as a user reads it with a plain client: a classic model-training experiment, one parent run
per training with a readable name and one nested run per model and mode carrying the same metric names, Optuna
studies and trials nested under a tuning run, descriptions on the registered model and its versions, short tags and
the long JSON as artifacts. Also: versions written before this layout (recipes in one JSON tag) still read."""

import json
import re

import pytest
import yaml
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities.model_registry import ModelVersion, ModelVersionTag

from f1_pipeline.modeling.candidates import Recipe, recipes_to_json
from f1_pipeline.modeling.promotion import Evaluation
from f1_pipeline.registry.tracking import (
    RECIPES_ARTIFACT,
    MissingRecipeError,
    _candidate_tags,
    describe,
    evaluation_from,
    families_of,
    registry_for,
)
from f1_pipeline.tables import BACKTEST_SUMMARY, TUNING_STUDIES
from tests.conftest import warehouse_of

SHORT_TAG = 100
"""Characters a tag value may have and still fit the registry's tag table (MLflow's own `mlflow.*` tags aside)."""
TUNED = {
    "random_forest": {"n_estimators": 150, "max_depth": 7, "max_features": "sqrt", "min_samples_leaf": 3},
    "xgboost": {"learning_rate": 0.052341234123412345, "n_estimators": 175, "subsample": 0.8312},
    "conditional_logit": {"l2": 0.012345678901234567},
}
RECIPES = {"pre_qualifying": Recipe("conditional_logit", TUNED), "post_qualifying": Recipe("rf_xgb_average", TUNED)}
EVALUATION = Evaluation(log_loss=1.2345678901234567, races=35, fingerprint="0123456789abcdef", podium_log_loss=0.41)


def version_with(tags: dict[str, str]) -> ModelVersion:
    return ModelVersion("m", "7", 0, tags=[ModelVersionTag(key, value) for key, value in tags.items()])


def test_a_version_carries_a_few_short_tags_the_evaluation_reads_back_from():
    tags = _candidate_tags(EVALUATION, RECIPES)
    assert max(len(value) for value in tags.values()) < SHORT_TAG
    assert len(tags) <= 8  # the evaluation, each mode's family and the recipes' digest: the rest is recipes.json
    version = version_with(tags)
    assert families_of(version) == {"pre_qualifying": "conditional_logit", "post_qualifying": "rf_xgb_average"}
    assert evaluation_from(version) == EVALUATION
    with pytest.raises(LookupError, match="no complete evaluation"):
        evaluation_from(version_with({"evaluation_races": "3"}))


class TestTrainedRegistry:
    @pytest.fixture(scope="class")
    def client(self, trained) -> MlflowClient:
        settings, _ = trained
        return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)

    @pytest.fixture(scope="class")
    def champion(self, trained, client) -> ModelVersion:
        settings, _ = trained
        return client.get_model_version_by_alias(settings.registered_model_name, "champion")

    def test_the_experiment_opens_as_classic_model_training(self, trained, client):
        settings, _ = trained
        experiment = client.get_experiment_by_name(settings.mlflow_experiment)
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    def test_the_training_is_a_named_parent_run_holding_the_registered_model(self, trained, client, champion):
        run = client.get_run(champion.run_id)
        assert run.data.tags["role"] == "training"
        assert "mlflow.parentRunId" not in run.data.tags
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} · data through 2026 R\d+ .+ Grand Prix", run.info.run_name)
        assert run.data.tags["data_through"] == champion.tags["data_through"]
        assert "walk-forward" in run.data.tags["mlflow.note.content"]
        assert {"post_qualifying.log_loss", "pre_qualifying.top1", "evaluation_log_loss"} <= set(run.data.metrics)
        assert {"figures/calibration.png", "figures/feature_importance_post_qualifying.png"} <= {
            item.path for item in client.list_artifacts(run.info.run_id, "figures")
        }
        (model,) = client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run.info.run_id}'")
        assert f"models:/{model.model_id}" == champion.source
        with open(download_artifacts(artifact_uri=f"{model.artifact_location}/MLmodel")) as handle:
            mlmodel = yaml.safe_load(handle)
        assert {"inputs", "outputs", "params"} <= set(mlmodel["signature"])
        assert "saved_input_example_info" in mlmodel

    def test_one_nested_run_per_model_and_mode_with_the_same_metric_names(self, trained, client, champion):
        settings, _ = trained
        summary = warehouse_of(settings).read(BACKTEST_SUMMARY)
        summary = summary.filter(summary["model"] != "candidate")
        experiment = client.get_experiment_by_name(settings.mlflow_experiment).experiment_id
        nested = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{champion.run_id}'")
        by_key = {(run.data.params["model"], run.data.params["mode"]): run for run in nested}
        assert len(by_key) == len(nested) == summary.height
        assert set(by_key) == set(summary.select("model", "mode").iter_rows())
        scores = [name for name in summary.columns if name not in ("mode", "model", "races")]
        assert {"log_loss", "brier", "top1", "top3"} <= set(scores)
        for row in summary.iter_rows(named=True):
            run = by_key[(row["model"], row["mode"])]
            assert run.info.status == "FINISHED"
            assert run.data.params["races"] == str(row["races"])
            logged = {name: value for name, value in run.data.metrics.items() if not name.startswith("season_")}
            assert logged == pytest.approx({name: row[name] for name in scores if row[name] is not None})
            if run.data.tags["role"] != "baseline":
                assert set(logged) == set(scores)  # every model family has every score, under the same names
        families = families_of(champion)
        chosen = [run for run in nested if run.data.tags["candidate"] == "yes"]
        assert {run.data.params["mode"]: run.data.params["model"] for run in chosen} == families
        assert by_key[("pole_sitter", "post_qualifying")].data.tags["role"] == "baseline"
        logit = by_key[("conditional_logit", "post_qualifying")]
        tuned = registry_for(trained[0]).recipes(champion)["post_qualifying"].params["conditional_logit"]
        assert logit.data.params["conditional_logit.l2"] == str(tuned["l2"])
        by_season = {name for name in logit.data.metrics if name.startswith("season_")}
        assert {"season_2025.log_loss", "season_2026.log_loss", "season_2026.top1"} <= by_season
        assert all(len(client.get_metric_history(logit.info.run_id, name)) == 1 for name in by_season)

    def test_descriptions_and_short_tags_with_the_long_json_as_artifacts(self, trained, client, champion):
        settings, _ = trained
        registered = client.get_registered_model(settings.registered_model_name)
        assert "champion" in registered.description
        assert champion.tags["data_through"] in champion.description
        assert "| post_qualifying |" in champion.description
        assert max(len(value) for value in champion.tags.values()) < SHORT_TAG
        run = client.get_run(champion.run_id)
        assert max(len(v) for k, v in run.data.tags.items() if not k.startswith("mlflow.")) < SHORT_TAG
        assert max(len(value) for value in run.data.params.values()) < SHORT_TAG
        with open(client.download_artifacts(champion.run_id, "recipes.json")) as handle:
            assert json.load(handle) == json.loads(recipes_to_json(registry_for(settings).recipes(champion)))
        with open(client.download_artifacts(champion.run_id, "evaluation.json")) as handle:
            assert Evaluation(**json.load(handle)) == evaluation_from(champion)
        registry = registry_for(settings)
        newest = registry.latest()
        reused = registry.registered_candidate(evaluation_from(newest), registry.recipes(newest))
        assert reused is not None and reused.version == newest.version

    def test_optuna_studies_and_trials_are_nested_under_a_tuning_run(self, trained, client):
        settings, _ = trained
        studies = warehouse_of(settings).read(TUNING_STUDIES)
        experiment = client.get_experiment_by_name(settings.mlflow_experiment).experiment_id
        (tuning,) = client.search_runs([experiment], "tags.role = 'tuning'")
        assert f"{studies.height} Optuna studies" in tuning.info.run_name
        nested = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{tuning.info.run_id}'")
        assert {(run.data.params["estimator"], run.data.params["mode"]) for run in nested} == set(
            studies.select("estimator", "mode").iter_rows()
        )
        for study in nested:
            expected = studies.filter(estimator=study.data.params["estimator"], mode=study.data.params["mode"])
            trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{study.info.run_id}'")
            assert len(trials) == expected["trials"].item()
            assert study.data.metrics["validation_log_loss"] == pytest.approx(expected["validation_log_loss"].item())
            assert min(trial.data.metrics["validation_log_loss"] for trial in trials) == pytest.approx(
                study.data.metrics["validation_log_loss"]
            )


def test_recipes_read_back_from_the_run_artifact_the_digest_names(settings_for):
    """The gate rebuilds a version's models from its run's recipes.json, and only from the one it was registered
    with; a version without recipes (registered by hand) is a clear error."""
    registry = registry_for(settings_for())
    client = registry.client()
    client.create_registered_model(registry.model_name)
    run = client.create_run(registry.experiment_id())
    client.log_text(run.info.run_id, recipes_to_json(RECIPES), RECIPES_ARTIFACT)
    tags = _candidate_tags(EVALUATION, RECIPES)
    client.create_model_version(registry.model_name, "file:///nonexistent/model", run.info.run_id, tags=tags)
    version = registry.version("1")
    assert registry.recipes(version) == RECIPES
    assert describe(version)["families"] == {"pre_qualifying": "conditional_logit", "post_qualifying": "rf_xgb_average"}
    client.log_text(run.info.run_id, recipes_to_json({"pre_qualifying": RECIPES["pre_qualifying"]}), RECIPES_ARTIFACT)
    with pytest.raises(MissingRecipeError, match="not the one it was registered with"):
        registry.recipes(version)
    client.create_model_version(registry.model_name, "file:///nonexistent/model", run.info.run_id)
    with pytest.raises(MissingRecipeError, match="no recipe tags"):
        registry.recipes(registry.version("2"))
