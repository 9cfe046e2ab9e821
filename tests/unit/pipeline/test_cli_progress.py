"""Long steps say how far they are: a line per Optuna trial and per backtest season, with what remains."""

import re

import pytest

from f1_pipeline.modeling.backtest import walk_forward
from f1_pipeline.modeling.baselines import baselines_for
from f1_pipeline.modeling.tuning import TuningWindow, tune
from tests.modeling_data import synthetic_frame


@pytest.fixture(scope="module")
def frame():
    return synthetic_frame(seed=7, races=40, rounds_per_season=10, first_season=2000)


def test_each_trial_is_reported_with_its_score_and_the_best_so_far(frame, tmp_path):
    lines: list[str] = []
    window = TuningWindow(first_season=2000, validation_first=2002, validation_last=2003)
    result = tune(
        frame, "conditional_logit", "pre_qualifying", window=window, trials=2, storage=None, progress=lines.append
    )
    assert len(lines) == result.trials == 2
    pattern = (
        r"conditional_logit pre_qualifying: trial (\d) of 2 in \d+ s, validation log loss \d\.\d{4} \(best \d\.\d{4}\)"
    )
    assert [re.fullmatch(pattern, line).group(1) for line in lines] == ["1", "2"]


def test_each_backtest_season_is_reported_with_an_estimate_of_the_rest(frame):
    lines: list[str] = []
    walk_forward(frame, baselines_for, ["pre_qualifying"], [2001, 2002, 2003], 2000, progress=lines.append)
    assert lines[0].startswith("walk-forward season 2001 done; seasons 1/3, about ")
    assert lines[1].startswith("walk-forward season 2002 done; seasons 2/3, about ")
    assert lines[2] == "walk-forward season 2003 done; seasons 3/3"
