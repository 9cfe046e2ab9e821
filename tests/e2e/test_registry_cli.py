"""`f1-predict registry` on a copy of a real registry and warehouse: the gate refuses a worse version, rollback and a
manual promotion move the alias, and each decision is a row of models.promotions."""

import json
import shutil
from dataclasses import replace

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from f1_pipeline.cli.app import app
from f1_pipeline.modeling.candidates import Recipe
from f1_pipeline.modeling.promotion import evaluation_of
from f1_pipeline.modeling.training import Seasons, fit_final, recipe_backtest
from f1_pipeline.registry.tracking import Candidate, registry_for
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import PROMOTIONS, RACE_FEATURES
from tests.conftest import warehouse_of

COPIED = ("mlflow_tracking_uri", "warehouse_path")
SEASONS = ("train_first_season", "validation_first_season", "backtest_first_season")
runner = CliRunner()


def registry(*arguments: str) -> Result:
    """`f1-predict registry ...` in this process; stdout and stderr apart."""
    return runner.invoke(app, ["registry", *arguments])


@pytest.fixture
def registry_copy(trained, tmp_path, monkeypatch) -> PipelineSettings:
    """The trained registry and warehouse copied, so moving the alias and recording decisions leaves the session's
    alone; the CLI finds them (and the season split it evaluates on) through the settings' environment."""
    settings, _ = trained
    source = settings.mlflow_tracking_uri.removeprefix("sqlite:///")
    shutil.copy(source, tmp_path / "mlflow.db")
    shutil.copy(settings.warehouse_path, tmp_path / "warehouse.duckdb")
    copy = settings.model_copy(
        update={
            "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "warehouse_path": tmp_path / "warehouse.duckdb",
        }
    )
    for name in (*COPIED, "mlflow_artifact_location", "registered_model_name", "mlflow_experiment", *SEASONS):
        monkeypatch.setenv(f"F1_{name.upper()}", str(getattr(copy, name)))
    return copy


def champion_version(settings: PipelineSettings) -> str:
    return str(registry_for(settings).champion().version)


def log_random_forest(settings: PipelineSettings, fingerprint: str | None = None) -> str:
    """Register an honestly evaluated RandomForest-only candidate (worse than the champion on this data)."""
    store = warehouse_of(settings)
    frame = store.read(RACE_FEATURES)
    seasons = Seasons(settings.train_first_season, settings.validation_first_season, settings.backtest_first_season)
    recipes = {mode: Recipe(family="random_forest") for mode in ("pre_qualifying", "post_qualifying")}
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


def test_show_lists_versions_with_the_champion_alias(registry_copy):
    shown = registry("show")
    assert shown.exit_code == 0, shown.stderr
    versions = json.loads(shown.stdout)
    assert "champion" in next(v for v in versions if v["version"] == champion_version(registry_copy))["aliases"]


def cli_decisions(settings: PipelineSettings) -> pl.DataFrame:
    return warehouse_of(settings).read(PROMOTIONS).filter(decided_by="cli")


def test_gate_refuses_a_worse_version_and_rollback_and_override_move_the_alias(registry_copy):
    best = champion_version(registry_copy)
    worse = log_random_forest(registry_copy)
    refused = registry("promote", worse)
    assert refused.exit_code == 1
    assert "kept the champion" in refused.stderr
    assert champion_version(registry_copy) == best

    assert registry("rollback", worse).exit_code == 0
    assert champion_version(registry_copy) == worse
    assert registry("promote", best).exit_code == 1  # the gate does not undo a rollback
    assert registry("promote", best, "--force", "--reason", "the rollback was a drill").exit_code == 0
    assert champion_version(registry_copy) == best
    decisions = cli_decisions(registry_copy)
    assert decisions["action"].to_list() == ["refusal", "rollback", "refusal", "manual_promotion"]
    assert decisions["resulting_champion_version"].to_list() == [best, worse, worse, best]


def test_a_version_registered_from_other_data_is_scored_again_on_the_current_walk_forward(registry_copy):
    best = champion_version(registry_copy)
    other = log_random_forest(registry_copy, fingerprint="0" * 16)
    refused = registry("promote", other)
    assert refused.exit_code == 1
    assert "kept the champion" in refused.stderr
    assert champion_version(registry_copy) == best
    (refusal,) = cli_decisions(registry_copy).iter_rows(named=True)
    champion = registry_for(registry_copy).champion()
    assert refusal["evaluation_fingerprint"] == champion.tags["evaluation_fingerprint"] != "0" * 16
    assert refusal["champion_log_loss"] == pytest.approx(float(champion.tags["evaluation_log_loss"]))
    assert refusal["candidate_log_loss"] > refusal["champion_log_loss"]
