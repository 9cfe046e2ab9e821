"""The registry CLI on a copy of a real registry: the gate refuses a worse version, rollback moves the alias."""

import json
import shutil
from dataclasses import replace

import polars as pl
import pytest

from f1_pipeline.modeling.candidates import Recipe
from f1_pipeline.modeling.promotion import evaluation_of
from f1_pipeline.modeling.training import Seasons, fit_final, recipe_backtest
from f1_pipeline.registry.cli import main
from f1_pipeline.registry.tracking import Candidate, registry_for
from f1_pipeline.settings import PipelineSettings
from tests.conftest import warehouse_of


@pytest.fixture
def registry_copy(trained, tmp_path, monkeypatch) -> PipelineSettings:
    """The trained registry copied, so moving its alias leaves the session's registry alone."""
    settings, _ = trained
    source = settings.mlflow_tracking_uri.removeprefix("sqlite:///")
    shutil.copy(source, tmp_path / "mlflow.db")
    copy = settings.model_copy(update={"mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    for name in ("mlflow_tracking_uri", "mlflow_artifact_location", "registered_model_name", "mlflow_experiment"):
        monkeypatch.setenv(f"F1_{name.upper()}", str(getattr(copy, name)))
    return copy


def champion_version(settings: PipelineSettings) -> str:
    return str(registry_for(settings).champion().version)


def log_random_forest(settings: PipelineSettings, fingerprint: str | None = None) -> str:
    """Register an honestly evaluated RandomForest-only candidate (worse than the champion on this data)."""
    store = warehouse_of(settings)
    frame = store.read("features.race_features")
    seasons = Seasons(settings.train_first_season, settings.validation_first_season, settings.backtest_first_season)
    recipes = {mode: Recipe(kind="random_forest") for mode in ("pre_qualifying", "post_qualifying")}
    registry = registry_for(settings)
    champion = registry.champion()
    evaluation = evaluation_of(recipe_backtest(frame, recipes, seasons), champion.tags["evaluation_fingerprint"])
    if fingerprint is not None:
        evaluation = replace(evaluation, fingerprint=fingerprint)
    candidate = Candidate(
        models=fit_final(frame, recipes, seasons),
        recipes=recipes,
        evaluation=evaluation,
        input_example=frame.filter(pl.col("is_next")),
    )
    return str(registry.log_candidate(candidate).version)


def test_show_lists_versions_with_the_champion_alias(registry_copy, capsys):
    assert main(["show"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert "champion" in next(v for v in versions if v["version"] == champion_version(registry_copy))["aliases"]


def test_gate_refuses_a_worse_version_and_rollback_moves_the_alias(registry_copy, capsys):
    best = champion_version(registry_copy)
    worse = log_random_forest(registry_copy)
    assert main(["promote", worse]) == 1
    assert "kept the champion" in capsys.readouterr().err
    assert champion_version(registry_copy) == best

    assert main(["rollback", worse]) == 0
    assert champion_version(registry_copy) == worse
    assert main(["promote", best]) == 0
    assert champion_version(registry_copy) == best


def test_gate_refuses_to_compare_different_evaluations(registry_copy, capsys):
    best = champion_version(registry_copy)
    other = log_random_forest(registry_copy, fingerprint="0" * 16)
    assert main(["promote", other]) == 2
    assert "different data" in capsys.readouterr().err
    assert champion_version(registry_copy) == best
