"""The favourite explained: the stored top contributions said in words with the driver's own values."""

import json

from f1_serving.dashboard.explanations import reasons, sentence


def contributions(*parts):
    return json.dumps([{"feature": name, "contribution": value} for name, value in parts])


def test_what_raised_and_what_lowered_a_chance_are_said_with_the_drivers_values():
    stored = contributions(("practice_mean_position", 0.73), ("driver_dnf_rate_10", -0.21), ("grid", 0.5))
    features = {"practice_mean_position": 1.6667, "driver_dnf_rate_10": 0.3, "grid": 1}
    raised, lowered = reasons(stored, features)
    assert raised == ("averaged P1.7 in practice this weekend", "starts on pole")
    assert lowered == ("did not finish 3 of the last 10 races",)
    assert sentence(raised, lowered) == (
        "Helped by: averaged P1.7 in practice this weekend; starts on pole. "
        "Held back by: did not finish 3 of the last 10 races."
    )


def test_a_missing_value_or_an_unknown_input_is_named_not_hidden():
    raised, lowered = reasons(contributions(("season_points", -0.2), ("new_input", 0.1)), {"new_input": 2.5})
    assert raised == ("new input 2.5",)
    assert lowered == ("no data for season points",)


def test_a_model_that_cannot_say_gives_no_sentence():
    assert reasons(None, {}) == ((), ())
    assert sentence((), ()) is None
