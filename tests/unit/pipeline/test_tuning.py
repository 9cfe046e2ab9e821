"""Optuna tuning on a tiny window of real seasons: the default parameters come first and are never beaten by a worse
pick, a rerun resumes the same study, other data gets another study, and the study lives in the storage named
(SQLite here, the real PostgreSQL in one test)."""

from pathlib import Path

import optuna
import polars as pl
import pytest

from f1_pipeline.defs.resources import ModelingResource
from f1_pipeline.modeling.estimators import ConditionalLogit, TreeEnsemble
from f1_pipeline.modeling.tuning import (
    DEFAULT_PARAMS,
    ESTIMATORS,
    SPACES,
    TuningResult,
    TuningWindow,
    build_model,
    data_fingerprint,
    tune,
    validation_log_loss,
)
from tests.modeling_data import real_features

WINDOW = TuningWindow(first_season=2019, validation_first=2021, validation_last=2021)
MODE = "pre_qualifying"


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return real_features()


def sqlite(path: Path) -> str:
    return f"sqlite:///{path / 'optuna.db'}"


def complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))


def outcome(result: TuningResult) -> tuple:
    """What a tuning call found (not how long it took)."""
    return (result.study_name, result.params, result.validation_log_loss, result.default_log_loss, result.trials)


def test_the_default_parameters_are_the_first_trial_and_the_best_is_never_worse(frame, tmp_path):
    storage = sqlite(tmp_path)
    result = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=4, storage=storage)

    study = optuna.load_study(study_name=result.study_name, storage=storage)
    trials = complete(study)
    assert len(trials) == result.trials == 4
    assert trials[0].params == DEFAULT_PARAMS["conditional_logit"]
    assert result.validation_log_loss <= result.default_log_loss
    assert result.validation_log_loss == min(trial.value for trial in trials)
    assert result.params == study.best_params
    # The numbers are the validation seasons' mean -ln p(winner) of a model fitted on the seasons before.
    default_model = ConditionalLogit(MODE, **DEFAULT_PARAMS["conditional_logit"])
    assert result.default_log_loss == pytest.approx(validation_log_loss(default_model, MODE, frame, WINDOW))
    best_model = build_model("conditional_logit", MODE, result.params)
    assert result.validation_log_loss == pytest.approx(validation_log_loss(best_model, MODE, frame, WINDOW))
    assert 0 < result.validation_log_loss < 3.0  # far better than a uniform field of 20 (ln 20 = 3.0)


def test_a_rerun_on_the_same_data_resumes_the_study(frame, tmp_path):
    storage = sqlite(tmp_path)
    first = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=3, storage=storage)
    again = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=3, storage=storage)
    fewer = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=1, storage=storage)

    assert outcome(again) == outcome(first)
    assert fewer.trials == 3  # asking for fewer trials than the study holds runs none and keeps what is known
    assert optuna.get_all_study_names(storage) == [first.study_name]
    study = optuna.load_study(study_name=first.study_name, storage=storage)
    assert len(study.trials) == 3

    more = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=5, storage=storage)
    assert more.trials == 5
    assert len(optuna.load_study(study_name=first.study_name, storage=storage).trials) == 5
    assert more.default_log_loss == first.default_log_loss
    assert more.validation_log_loss <= first.validation_log_loss


def test_other_data_gets_another_study_and_rows_outside_the_window_do_not_count(frame, tmp_path):
    storage = sqlite(tmp_path)
    window = TuningWindow(first_season=2020, validation_first=2021, validation_last=2021)
    first = tune(frame, "conditional_logit", MODE, window=window, trials=1, storage=storage)

    row = (pl.col("season") == 2020) & (pl.col("round") == 3) & (pl.col("driver_id") == "hamilton")
    changed = frame.with_columns(driver_elo=pl.when(row).then(pl.col("driver_elo") + 1).otherwise("driver_elo"))
    assert data_fingerprint(changed, window) != data_fingerprint(frame, window)
    other = tune(changed, "conditional_logit", MODE, window=window, trials=1, storage=storage)
    assert other.study_name != first.study_name

    before_window = frame.with_columns(driver_elo=pl.when(pl.col("season") == 2019).then(0.0).otherwise("driver_elo"))
    assert data_fingerprint(before_window, window) == data_fingerprint(frame, window)
    same = tune(before_window, "conditional_logit", MODE, window=window, trials=1, storage=storage)
    assert same.study_name == first.study_name
    assert sorted(optuna.get_all_study_names(storage)) == sorted([first.study_name, other.study_name])

    other_mode = tune(frame, "conditional_logit", "post_qualifying", window=window, trials=1, storage=storage)
    assert other_mode.study_name not in (first.study_name, other.study_name)


def test_a_tree_estimator_starts_from_the_default_parameters_too(frame, tmp_path):
    storage = sqlite(tmp_path)
    result = tune(frame, "random_forest", MODE, window=WINDOW, trials=2, storage=storage)
    trials = complete(optuna.load_study(study_name=result.study_name, storage=storage))
    assert trials[0].params == DEFAULT_PARAMS["random_forest"]
    assert result.validation_log_loss <= result.default_log_loss
    model = build_model("random_forest", MODE, result.params)
    assert isinstance(model, TreeEnsemble)
    assert model.members == ("random_forest",)
    assert dict(model.random_forest) == result.params


def test_a_run_killed_during_the_default_trial_does_not_wedge_the_study(frame, tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    name = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=1, storage=sqlite(probe)).study_name
    storage = sqlite(tmp_path)
    study = optuna.create_study(study_name=name, storage=storage)
    study.enqueue_trial(DEFAULT_PARAMS["conditional_logit"])
    SPACES["conditional_logit"](study.ask())  # the default trial starts; the process dies before it is told

    result = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=3, storage=storage)
    default_model = build_model("conditional_logit", MODE, DEFAULT_PARAMS["conditional_logit"])
    assert result.default_log_loss == pytest.approx(validation_log_loss(default_model, MODE, frame, WINDOW))
    assert result.validation_log_loss <= result.default_log_loss


@pytest.mark.parametrize("trials", [0, -3])
def test_tuning_needs_at_least_the_default_trial(frame, tmp_path, trials):
    with pytest.raises(ValueError, match="at least one trial"):
        tune(frame, "conditional_logit", MODE, window=WINDOW, trials=trials, storage=sqlite(tmp_path))
    assert not (tmp_path / "optuna.db").exists()


def test_the_default_parameters_lie_in_each_search_space():
    """Enqueueing default parameters outside the space would make Optuna score something else than them."""
    for estimator in ESTIMATORS:
        study = optuna.create_study()
        study.enqueue_trial(DEFAULT_PARAMS[estimator])
        trial = study.ask()
        assert SPACES[estimator](trial) == DEFAULT_PARAMS[estimator]


def psycopg2_url(url: str) -> str:
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed; psycopg2 is."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)


@pytest.mark.postgres
def test_studies_are_stored_in_postgresql(frame, postgres_database):
    storage = psycopg2_url(postgres_database)
    result = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=2, storage=storage)

    study = optuna.load_study(study_name=result.study_name, storage=storage)
    assert len(complete(study)) == result.trials == 2
    assert study.trials[0].params == DEFAULT_PARAMS["conditional_logit"]
    assert optuna.get_all_study_names(storage) == [result.study_name]
    # A second process pointed at the same database resumes the same study.
    again = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=3, storage=storage)
    assert again.study_name == result.study_name
    assert len(optuna.load_study(study_name=result.study_name, storage=storage).trials) == 3


@pytest.mark.postgres
def test_a_plain_postgresql_url_works_as_it_does_for_dagster(frame, postgres_database):
    """F1_OPTUNA_STORAGE=postgresql://... reaches Optuna through the resource with the installed driver named."""
    assert postgres_database.startswith("postgresql://")
    resource = ModelingResource(
        train_first_season=2019,
        validation_first_season=2020,
        backtest_first_season=2021,
        tuning_trials=1,
        optuna_storage=postgres_database,
    )
    result = tune(frame, "conditional_logit", MODE, window=WINDOW, trials=1, storage=resource.storage_url())
    assert result.trials == 1
