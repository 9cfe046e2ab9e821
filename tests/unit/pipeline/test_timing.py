import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from f1_pipeline.cleaning.timing import clock_seconds, is_clock


def parse(*texts: str | None) -> list[tuple[float | None, bool]]:
    frame = pl.DataFrame({"t": list(texts)}, schema={"t": pl.String})
    return frame.select(clock_seconds("t"), is_clock("t").alias("ok")).rows()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:23.456", 83.456),
        ("+1:07.667", 67.667),
        ("+5.155", 5.155),
        ("1:32:03.897", 5523.897),
        ("59.9", 59.9),
        ("+0.745", 0.745),
        (" 1:23.456 ", 83.456),
        ("2:01:35", 7295.0),
    ],
)
def test_clock_readings_become_seconds(text, seconds):
    [(parsed, ok)] = parse(text)
    assert parsed == pytest.approx(seconds)
    assert ok


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_is_null_and_allowed(text):
    assert parse(text) == [(None, True)]


@pytest.mark.parametrize("text", ["+1 Lap", "DNF", "1:2:3:4", "abc", "1:23.4.5", "-5.1", "1:75.000x"])
def test_other_text_is_null_and_breaks_the_rule(text):
    assert parse(text) == [(None, False)]


def test_a_column_of_mixed_values():
    assert [seconds for seconds, _ in parse("1:23.456", None, "+5.155", "Lapped")] == [
        pytest.approx(83.456),
        None,
        pytest.approx(5.155),
        None,
    ]


@given(
    hours=st.integers(0, 3),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
    millis=st.integers(0, 999),
    gap=st.booleans(),
)
def test_any_clock_reading_round_trips(hours, minutes, seconds, millis, gap):
    total = hours * 3600 + minutes * 60 + seconds + millis / 1000
    if hours:
        text = f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    elif minutes:
        text = f"{minutes}:{seconds:02d}.{millis:03d}"
    else:
        text = f"{seconds}.{millis:03d}"
    [(parsed, ok)] = parse(("+" if gap else "") + text)
    assert ok
    assert parsed == pytest.approx(total, abs=1e-9)
