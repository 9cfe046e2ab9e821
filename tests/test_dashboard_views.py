"""The dashboard's view models: on hand-made tables where a rule is easiest to see, and on the real publication of the
session's materialized graph (seasons 2012-2026) checked against the published tables and the JSON API's answers."""

from datetime import UTC, date, datetime

import polars as pl
import pytest

from f1_serving.dashboard import views
from f1_serving.dashboard.charts import Series, line_chart, nice_step
from f1_serving.dashboard.formatting import MISSING, local_time, percent, points_change

CALENDAR = pl.DataFrame(
    {
        "season": [2026] * 4,
        "round": [12, 13, 14, 15],
        "race_name": ["Hungarian Grand Prix", "Dutch Grand Prix", "Italian Grand Prix", "Abu Dhabi Grand Prix"],
        "date": [date(2026, 7, 26), date(2026, 8, 23), date(2026, 9, 6), date(2026, 12, 6)],
        "status": ["completed", "scheduled", "scheduled", "scheduled"],
    }
)


def test_freshness_names_the_last_race_with_results():
    fresh = views.freshness(CALENDAR, today=date(2026, 8, 1))
    assert fresh == views.Freshness("Hungarian Grand Prix, 26 July 2026", False, None)


def test_freshness_flags_races_held_since_without_results():
    fresh = views.freshness(CALENDAR, today=date(2026, 11, 28))
    assert fresh.stale
    assert fresh.note is not None
    assert "2 races held since then" in fresh.note
    assert "Italian Grand Prix, 6 September 2026" in fresh.note
    assert "Abu Dhabi" not in fresh.note  # still to come on 28 November


def test_freshness_of_a_calendar_without_results():
    assert views.freshness(CALENDAR.with_columns(status=pl.lit("scheduled")), date(2026, 1, 1)).data_through is None


@pytest.mark.parametrize(
    ("probability", "text"), [(0.3456, "34.6%"), (0.0, "0.0%"), (0.0004, "<0.1%"), (1.0, "100.0%"), (None, MISSING)]
)
def test_percentages_have_one_decimal(probability, text):
    assert percent(probability) == text


def test_changes_are_said_in_words():
    assert points_change(0.052) == "up 5.2 pts"
    assert points_change(-0.1) == "down 10.0 pts"
    assert points_change(0.0001) == "no change"


def test_local_time_is_the_circuits_clock_with_utc_beside_it():
    start = datetime(2026, 7, 26, 13, 0, tzinfo=UTC)
    assert local_time(start, "Europe/Budapest") == "15:00 CEST (13:00 UTC)"
    assert local_time(datetime(2026, 12, 6, 13, 0, tzinfo=UTC), "Asia/Dubai") == "17:00 +04 (13:00 UTC)"
    assert local_time(start, None) is None
    assert local_time(None, "Europe/Budapest") is None
    assert local_time(start, "Not/AZone") is None


@pytest.mark.parametrize(("span", "step"), [(1.0, 0.2), (37.0, 10.0), (230.0, 50.0), (0.0, 1.0)])
def test_tick_steps_are_round(span, step):
    assert nice_step(span) == step


def test_line_chart_maps_data_into_the_plot_area():
    chart = line_chart(
        "t", "d", [Series("a", [(2025, 0.5), (2026, 1.0)])], y_label="y", y_format="{:.1f}", y_range=(0.0, 1.0)
    )
    left, top, right, bottom = chart.plot
    [line] = chart.lines
    assert line.dots == ((left, (top + bottom) / 2), (right, top))
    assert [tick.label for tick in chart.y_ticks] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert [tick.label for tick in chart.x_ticks] == ["2025", "2025.2", "2025.4", "2025.6", "2025.8", "2026"]
    with pytest.raises(ValueError, match="no points"):
        line_chart("empty", "d", [Series("a", [])], y_label="y")


def test_calibration_bins_compare_the_favourites_chance_with_how_often_it_won():
    predictions = pl.DataFrame(
        {
            "mode": ["post_qualifying"] * 5,
            "rank": [1, 1, 1, 2, 1],
            "probability": [0.25, 0.28, 0.65, 0.2, 0.5],
            "won": [True, False, True, True, None],  # the last race is not run yet
        }
    )
    bins = views.calibration_bins(predictions)
    assert bins.select("bin", "races", "observed").rows() == [("20%-30%", 2, 0.5), ("60%-70%", 1, 1.0)]
    assert bins["predicted"][0] == pytest.approx(0.265)
