"""The promotion gate on a real MLflow registry (SQLite) and a real DuckDB warehouse: which version the `champion`
alias ends on, and the row each decision leaves in `models.promotions`, through the gate's functions and through the
registry CLI (the same gate the `champion_model` asset calls).

Two versions are registered once for the module: a conditional logit, which the synthetic winners (drawn from a
softmax of one feature) suit, and a shallow random forest, clearly worse on them."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from f1_pipeline import tables
from f1_pipeline.cli.app import app
from f1_pipeline.modeling.candidates import Recipe, recipes_to_json
from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.promotion import evaluation_of
from f1_pipeline.modeling.training import Seasons, fit_final, recipe_backtest
from f1_pipeline.modeling.tuning import DEFAULT_PARAMS
from f1_pipeline.registry import gate
from f1_pipeline.registry.tracking import DECISION_HEADING, RECIPE_PREFIX, Candidate, ModelRegistry
from f1_pipeline.warehouse import Warehouse
from tests.modeling_data import results_and_races, synthetic_frame

SEASONS = Seasons(train_first=2000, validation_first=2001, backtest_first=2002)
SHALLOW_FOREST = {**DEFAULT_PARAMS["random_forest"], "n_estimators": 20, "max_depth": 2}
PARAMS = {**DEFAULT_PARAMS, "random_forest": SHALLOW_FOREST}
GOOD = dict.fromkeys(MODES, Recipe("conditional_logit", PARAMS))
BAD = dict.fromkeys(MODES, Recipe("random_forest", PARAMS))
MODEL = "gate-test"
runner = CliRunner()


def registry(*arguments: str) -> Result:
    """`f1-predict registry ...` in this process; stdout and stderr apart."""
    return runner.invoke(app, ["registry", *arguments])


@dataclass(frozen=True)
class Versions:
    db: Path
    artifacts: str
    frame: pl.DataFrame
    families: pl.DataFrame
    good: str
    bad: str


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    root = tmp_path_factory.mktemp("gate_registry")
    frame = synthetic_frame(seed=3, races=40, drivers=12)
    fingerprint = gate.evaluation_fingerprint(frame, SEASONS)
    families = pl.concat(
        recipe_backtest(frame, recipes, SEASONS).with_columns(model=pl.lit(recipes["post_qualifying"].family))
        for recipes in (GOOD, BAD)
    )
    registry = ModelRegistry(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri(), "gate", MODEL)
    registered = []
    for recipes in (GOOD, BAD):
        walk_forward = gate.WalkForward(frame, SEASONS, GOOD, families).predictions(recipes)
        candidate = Candidate(
            models=fit_final(frame, recipes, SEASONS),
            recipes=recipes,
            evaluation=evaluation_of(walk_forward, fingerprint),
            input_example=frame.tail(12),
        )
        registered.append(str(registry.log_candidate(candidate).version))
    return Versions(root / "mlflow.db", registry.artifact_location, frame, families, *registered)


@dataclass(frozen=True)
class Setup:
    registry: ModelRegistry
    store: Warehouse
    walk_forward: gate.WalkForward
    good: str
    bad: str

    def champion(self) -> str | None:
        champion = self.registry.champion()
        return None if champion is None else str(champion.version)

    def trail(self) -> pl.DataFrame:
        return self.store.read(tables.PROMOTIONS)


@pytest.fixture
def setup(versions: Versions, tmp_path: Path) -> Setup:
    """A copy of the module's registry (no alias yet) and a warehouse holding what the model layer writes."""
    shutil.copy(versions.db, tmp_path / "mlflow.db")
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", versions.artifacts, "gate", MODEL)
    store = Warehouse(tmp_path / "warehouse.duckdb")
    with store.transaction() as writes:
        writes.replace_table(tables.RACE_FEATURES, versions.frame)
        results, races = results_and_races(versions.frame)
        writes.replace_table(tables.RACE_RESULTS, results)
        writes.replace_table(tables.RACES, races)
        writes.replace_table(tables.BACKTEST_PREDICTIONS, versions.families)
        writes.replace_table(
            tables.RECIPES,
            pl.DataFrame({"mode": mode, "recipe": recipes_to_json({mode: recipe})} for mode, recipe in GOOD.items()),
        )
    walk_forward = gate.WalkForward.from_warehouse(store, SEASONS)
    return Setup(registry, store, walk_forward, versions.good, versions.bad)


def test_the_first_version_is_promoted_and_its_walk_forward_published(setup):
    outcome = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.good, decided_by="run-1")

    assert setup.champion() == setup.good
    (row,) = setup.trail().iter_rows(named=True)
    assert row["action"] == "promotion" and outcome.recorded
    assert (row["candidate_version"], row["previous_champion_version"]) == (setup.good, None)
    assert row["resulting_champion_version"] == setup.good and row["decided_by"] == "run-1"
    expected = evaluation_of(recipe_backtest(setup.walk_forward.frame, GOOD, SEASONS), row["evaluation_fingerprint"])
    assert row["candidate_log_loss"] == pytest.approx(expected.log_loss)
    assert row["champion_log_loss"] is None
    published = setup.store.read(tables.CHAMPION_BACKTEST)
    assert published["model_version"].unique().to_list() == [setup.good]


def test_a_worse_version_is_refused_with_both_scores_and_a_repeat_is_recorded_once(setup):
    setup.registry.set_champion(setup.good)
    first = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.bad, decided_by="run-1")
    again = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.bad, decided_by="run-2")

    assert setup.champion() == setup.good
    assert (first.record.action, first.recorded, again.recorded) == ("refusal", True, False)
    (row,) = setup.trail().iter_rows(named=True)
    assert row["decided_by"] == "run-1" and "kept the champion" in row["reason"]
    assert setup.registry.version(setup.bad).description.endswith(row["reason"])  # and why it was refused
    assert row["candidate_log_loss"] > row["champion_log_loss"]
    assert row["deciding_outcomes"] == "win"
    assert first.record.candidate is not None and first.record.candidate.outcome_races is not None
    scored = set(first.record.candidate.outcome_races["outcome"])
    assert scored == {"win", "podium", "top6", "points", "not_classified", "teammate"}
    assert row["resulting_champion_version"] == row["previous_champion_version"] == setup.good
    published = setup.store.read(tables.CHAMPION_BACKTEST)
    assert published["model_version"].unique().to_list() == [setup.good]


def test_a_better_version_replaces_the_champion(setup):
    setup.registry.set_champion(setup.bad)
    outcome = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.good, decided_by="run-1")

    assert setup.champion() == setup.good
    assert outcome.record.action == "promotion"
    assert outcome.record.candidate.log_loss < outcome.record.champion.log_loss
    (row,) = setup.trail().iter_rows(named=True)
    assert (row["previous_champion_version"], row["resulting_champion_version"]) == (setup.bad, setup.good)
    description = setup.registry.version(setup.good).description
    assert description.count(DECISION_HEADING) == 1 and row["reason"] in description  # why it won, in the registry


def test_the_gate_does_not_undo_a_rollback_until_a_manual_promotion(setup):
    setup.registry.set_champion(setup.good)
    gate.rollback(setup.registry, setup.store, setup.bad, "serving errors")
    assert setup.champion() == setup.bad

    refused = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.good, decided_by="run-1")
    assert setup.champion() == setup.bad
    assert refused.record.action == "refusal" and "rolled back" in refused.record.reason

    with pytest.raises(ValueError, match="say why"):
        gate.manual_promotion(setup.registry, setup.store, setup.good, " ")
    gate.manual_promotion(setup.registry, setup.store, setup.good, "errors fixed")
    assert setup.champion() == setup.good
    rerun = gate.promote(setup.registry, setup.store, setup.walk_forward, setup.good, decided_by="run-2")
    assert not rerun.recorded  # already the champion: nothing new to record

    trail = setup.trail()
    assert trail["action"].to_list() == ["rollback", "refusal", "manual_promotion"]
    assert trail["decided_by"].to_list() == ["cli", "run-1", "cli"]
    assert trail["reason"][0] == "serving errors" and trail["reason"][2] == "errors fixed"
    moves = trail.select("previous_champion_version", "resulting_champion_version").rows()
    assert moves == [(setup.good, setup.bad), (setup.bad, setup.bad), (setup.bad, setup.good)]
    operator = trail.filter(pl.col("action") != "refusal")
    assert operator.select(pl.col("^.*log_loss$").is_null().all()).row(0) == (True,) * 4  # nothing compared


@pytest.fixture
def cli_env(setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """The registry CLI pointed at the copy and its warehouse through the settings' environment variables."""
    environment = {
        "MLFLOW_TRACKING_URI": setup.registry.tracking_uri,
        "MLFLOW_ARTIFACT_LOCATION": setup.registry.artifact_location,
        "MLFLOW_EXPERIMENT": "gate",
        "REGISTERED_MODEL_NAME": MODEL,
        "WAREHOUSE_PATH": str(setup.store.path),
        "TRAIN_FIRST_SEASON": str(SEASONS.train_first),
        "VALIDATION_FIRST_SEASON": str(SEASONS.validation_first),
        "BACKTEST_FIRST_SEASON": str(SEASONS.backtest_first),
    }
    for name, value in environment.items():
        monkeypatch.setenv(f"F1_{name}", value)
    yield setup


def test_cli_promote_applies_the_gate_and_records_its_refusal(cli_env):
    cli_env.registry.set_champion(cli_env.good)
    refused = registry("promote", cli_env.bad)
    assert refused.exit_code == 1
    assert "refused: kept the champion" in refused.stderr
    assert cli_env.champion() == cli_env.good
    (row,) = cli_env.trail().iter_rows(named=True)
    assert (row["action"], row["decided_by"], row["candidate_version"]) == ("refusal", "cli", cli_env.bad)
    assert row["candidate_log_loss"] > row["champion_log_loss"]

    assert registry("rollback", cli_env.bad).exit_code == 0
    assert cli_env.champion() == cli_env.bad
    assert registry("promote", cli_env.good).exit_code == 1  # the gate leaves a rollback alone
    assert registry("promote", cli_env.good, "--force").exit_code == 2  # overriding it needs a reason
    assert registry("promote", cli_env.good, "--force", "--reason", "rollback was a mistake").exit_code == 0
    assert cli_env.champion() == cli_env.good
    assert cli_env.trail()["action"].to_list() == ["refusal", "rollback", "refusal", "manual_promotion"]


def test_cli_promote_without_the_model_layer_decides_nothing(cli_env):
    cli_env.store.path.unlink()
    undecided = registry("promote", cli_env.good)
    assert undecided.exit_code == 2
    assert "run the pipeline's train job first" in undecided.stderr
    assert cli_env.champion() is None
    assert not cli_env.store.path.exists()


def test_cli_refuses_an_unknown_version_before_recording_anything(cli_env):
    unknown = registry("rollback", "99")
    assert unknown.exit_code == 2
    assert "no version 99" in unknown.stderr
    assert tables.PROMOTIONS.qualified not in cli_env.store.tables()


def test_cli_records_the_reasons_of_a_forced_promotion_and_a_rollback(cli_env):
    forced = registry("promote", cli_env.bad, "--force", "--reason", "first champion")
    assert forced.exit_code == 0, forced.output
    assert cli_env.champion() == cli_env.bad
    gated = registry("promote", cli_env.good)
    assert gated.exit_code == 0, gated.output
    assert cli_env.champion() == cli_env.good
    rolled = registry("rollback", cli_env.bad, "--reason", "drill")
    assert rolled.exit_code == 0, rolled.output
    trail = cli_env.trail()
    assert trail["action"].to_list() == ["manual_promotion", "promotion", "rollback"]
    assert trail["reason"].to_list()[::2] == ["first champion", "drill"]


def test_cli_promote_of_a_version_without_recipe_tags_decides_nothing(cli_env):
    """A version registered by hand (no recipe tags) cannot be rebuilt for the walk-forward: exit 2 with the reason,
    not a traceback with the refusal's exit code."""
    client = cli_env.registry.client()
    for key in client.get_model_version(MODEL, cli_env.bad).tags:
        if key.startswith(f"{RECIPE_PREFIX}."):
            client.delete_model_version_tag(MODEL, cli_env.bad, key)
    cli_env.registry.set_champion(cli_env.good)
    undecided = registry("promote", cli_env.bad)
    assert undecided.exit_code == 2
    assert f"nothing decided: version {cli_env.bad} has no recipe tags" in undecided.stderr
    assert cli_env.champion() == cli_env.good
    assert tables.PROMOTIONS.qualified not in cli_env.store.tables()
