import polars as pl
import pytest

from f1_pipeline.cleaning.timing import clock_seconds_expr, clock_to_seconds, is_clock_expr

CASES = [
    ("1:23.456", 83.456),
    ("+1:07.667", 67.667),
    ("+5.155", 5.155),
    ("1:32:03.897", 5523.897),
    ("59.9", 59.9),
    ("+0.745", 0.745),
    (" 1:23.456 ", 83.456),
    ("2:01:35", 7295.0),
]


@pytest.mark.parametrize(("text", "seconds"), CASES)
def test_clock_to_seconds(text, seconds):
    assert clock_to_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_is_none(text):
    assert clock_to_seconds(text) is None


@pytest.mark.parametrize("text", ["+1 Lap", "DNF", "1:2:3:4", "abc", "1:23.4.5", "-5.1"])
def test_non_clock_text_is_an_error(text):
    with pytest.raises(ValueError, match="not a lap time or gap"):
        clock_to_seconds(text)


def test_vectorised_parser_agrees_with_the_scalar_one():
    texts = [text for text, _ in CASES] + [None, "", "+1 Lap", "abc"]
    frame = pl.DataFrame({"t": texts}).with_columns(s=clock_seconds_expr("t"), ok=is_clock_expr("t"))
    parsed = frame["s"].to_list()
    assert parsed[: len(CASES)] == pytest.approx([seconds for _, seconds in CASES])
    assert parsed[len(CASES) :] == [None] * 4
    assert frame["ok"].to_list() == [True] * 8 + [True, True, False, False]
