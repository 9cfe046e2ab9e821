"""The dashboard's view models, formatting and chart geometry on hand-made tables, where each rule is easiest to see
(tests/e2e/test_dashboard_e2e.py runs the same views on a real publication)."""

import fnmatch
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from f1_pipeline.publication import Manifest, Publication
from f1_serving.dashboard import views
from f1_serving.dashboard.charts import Series, line_chart, nice_step
from f1_serving.dashboard.formatting import MISSING, local_time, percent, points_change, share
from f1_serving.dashboard.routes import templates
from f1_serving.served.champion import Champion
from f1_serving.served.serving_state import Served

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
    assert fresh == views.FreshnessBanner("Hungarian Grand Prix, 26 July 2026", False, None)


def test_freshness_flags_races_held_since_without_results():
    fresh = views.freshness(CALENDAR, today=date(2026, 11, 28))
    assert fresh.stale
    assert fresh.note is not None
    assert "2 races held after the Hungarian Grand Prix, 26 July 2026 without results" in fresh.note
    assert "(the latest: Italian Grand Prix, 6 September 2026)" in fresh.note
    assert "Abu Dhabi" not in fresh.note  # still to come on 28 November


def test_freshness_of_a_calendar_without_results():
    assert views.freshness(CALENDAR.with_columns(status=pl.lit("scheduled")), date(2026, 1, 1)).data_through is None


@pytest.mark.parametrize(
    ("probability", "text"),
    [
        (0.3456, "34.6%"),
        (0.0, "<0.1%"),
        (0.0004, "<0.1%"),
        (0.0005, "0.1%"),
        (0.9994, "99.9%"),
        (0.9999999982, ">99.9%"),
        (1.0, ">99.9%"),
        (None, MISSING),
    ],
)
def test_an_undecided_chance_never_reads_nil_or_certain(probability, text):
    assert percent(probability) == text


@pytest.mark.parametrize(("probability", "text"), [(1.0, "100.0%"), (0.0, "0.0%")])
def test_only_a_decided_outcome_reads_nil_or_certain(probability, text):
    assert percent(probability, decided=True) == text


def test_changes_are_said_in_words():
    assert points_change(0.052) == "up 5.2 pts"
    assert points_change(-0.1) == "down 10.0 pts"
    assert points_change(0.0001) == "no change"


def test_local_time_is_the_circuits_clock_with_utc_beside_it():
    start = datetime(2026, 7, 26, 13, 0, tzinfo=UTC)
    assert local_time(start, "Europe/Budapest") == "15:00 CEST (13:00 UTC)"
    assert local_time(datetime(2026, 12, 6, 13, 0, tzinfo=UTC), "Asia/Dubai") == "17:00 Dubai time (13:00 UTC)"
    assert local_time(start, "America/Sao_Paulo") == "10:00 Sao Paulo time (13:00 UTC)"
    assert local_time(start, None) is None
    assert local_time(None, "Europe/Budapest") is None
    assert local_time(start, "Not/AZone") is None


@pytest.mark.parametrize(("span", "step"), [(1.0, 0.2), (37.0, 10.0), (230.0, 50.0), (0.0, 1.0)])
def test_tick_steps_are_round(span, step):
    assert nice_step(span) == step


def test_a_weighted_point_is_drawn_with_an_area_in_proportion_to_its_weight():
    chart = line_chart("t", "d", [Series("a", [(0.1, 0.1), (0.5, 0.5)], weights=[1, 56])], y_label="y")
    [line] = chart.lines
    small, large = (radius for _, _, radius in line.dots)
    assert large == 11.0
    assert small == 1.5  # sqrt(1/56) * 11 = 1.47: the smallest mark stays visible


def test_many_seasons_keep_at_most_seven_labels_and_the_latest():
    seasons = range(2014, 2027)
    chart = line_chart(
        "t", "d", [Series("a", [(s, 0.5) for s in seasons])], y_label="y", x_labels={s: str(s) for s in seasons},
        last_label="2026: ",
    )  # fmt: skip
    labels = [tick.label for tick in chart.x_ticks]
    assert (
        len(labels) <= 7 and labels[-1] == "2026" and labels == ["2014", "2016", "2018", "2020", "2022", "2024", "2026"]
    )
    assert chart.lines[0].last == "2026: 0"


def test_line_chart_maps_data_into_the_plot_area():
    chart = line_chart(
        "t", "d", [Series("a", [(2025, 0.5), (2026, 1.0)])], y_label="y", y_format="{:.1f}", y_range=(0.0, 1.0)
    )
    left, top, right, bottom = chart.plot
    [line] = chart.lines
    assert line.dots == ((left, (top + bottom) / 2, 3.5), (right, top, 3.5))
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


def _served(next_race: pl.DataFrame, extra: dict[str, pl.DataFrame] | None = None) -> Served:
    """A `Served` of hand-made tables: the parts of a publication the next-race and title pages read."""
    calendar = pl.DataFrame(
        {
            "season": [2030, 2030],
            "round": [1, 2],
            "race_name": ["One GP", "Two GP"],
            "date": [date(2030, 3, 1), date(2030, 3, 8)],
            "starts_at": [datetime(2030, 3, 1, 14, tzinfo=UTC), datetime(2030, 3, 8, 4, tzinfo=UTC)],
            "circuit_name": ["Alpha Ring", "Beta Park"],
            "locality": ["Alphaville", None],
            "country": ["Hungary", "USA"],
            "timezone": ["Europe/Budapest", "America/Los_Angeles"],
            "status": ["completed", "scheduled"],
            "is_next": [False, True],
        }
    )
    features = pl.DataFrame(
        {"season": [2030], "round": [2], "air_temperature": [21.4], "wet": [True], "wind_speed": [3.25]}
    )
    tables = {"calendar": calendar, "next_race_features": features, **(extra or {})}
    manifest = Manifest("20300308T000000Z-00000000", datetime(2030, 3, 8, tzinfo=UTC), "m", "7", {})
    champion = Champion("m", "7", "champion", "run", datetime(2030, 3, 1, tzinfo=UTC), None, {}, {}, None)  # type: ignore[arg-type]
    return Served(Publication(manifest, tables), champion, next_race)


def _predictions(**columns: list) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "season": [2030] * 4,
            "round": [2] * 4,
            "mode": ["pre_qualifying", "pre_qualifying", "post_qualifying", "post_qualifying"],
            "driver_id": ["a", "b", "b", "a"],
            "driver_name": ["Ann A", "Bob B", "Bob B", "Ann A"],
            "constructor_name": ["X", "Y", "Y", "X"],
            "probability": [0.7, 0.3, 0.6, 0.4],
            "rank": [1, 2, 1, 2],
            "model_version": ["7"] * 4,
            **columns,
        }
    )


def test_after_qualifying_the_next_race_shows_the_change_and_the_published_podium_chances():
    outcomes = _predictions(podium_probability=[0.9, 0.8, 0.95, 0.85], expected_position=[1.3, 1.7, 1.4, 1.6])
    page = views.next_race(_served(outcomes), date(2030, 3, 2))
    assert page.mode == "after qualifying"
    assert page.columns == ("Win", "Podium", "Expected place", "Change since qualifying")
    assert [(row.driver, [cell.text for cell in row.cells]) for row in page.rows] == [
        ("Bob B", ["60.0%", "95.0%", "1.4", "up 30.0 pts"]),
        ("Ann A", ["40.0%", "85.0%", "1.6", "down 30.0 pts"]),
    ]
    assert page.rows[0].cells[1].share == 0.95
    assert page.weather == (("Air temperature", "21 °C"), ("Track", "wet"), ("Wind", "3.2 m/s"))
    assert page.race is not None and page.race.local_start == "Thu 7 March 2030, 20:00 PST (04:00 UTC)"
    assert page.notes == ()


def test_before_qualifying_and_without_podium_columns_the_page_says_so():
    pre = _predictions().filter(pl.col("mode") == "pre_qualifying")
    page = views.next_race(_served(pre), date(2030, 3, 2))
    assert page.mode == "before qualifying" and page.columns == ("Win",)
    assert [row.driver for row in page.rows] == ["Ann A", "Bob B"]
    assert any("Podium and points chances are not in the published predictions" in note for note in page.notes)


def test_title_odds_appear_once_published():
    odds = pl.DataFrame(
        {
            "season": [2030] * 4,
            "after_round": [1] * 4,
            "entity": ["driver", "driver", "constructor", "constructor"],
            "id": ["b", "a", "x", "y"],
            "name": ["Bob B", "Ann A", "X", "Y"],
            "points_now": [43.0, 25.0, 50.0, 18.0],
            "title_probability": [0.25, 0.75, 0.9, 0.1],
            "expected_points": [300.2, 350.7, 600.0, 200.0],
        }
    )
    page = views.championship(_served(_predictions(), {views.CHAMPIONSHIP_TABLE: odds}))
    assert page.heading == "2030 championship odds after round 1"
    assert [(row.name, row.points, row.expected, row.chance.text) for row in page.drivers] == [
        ("Ann A", "25", "351", "75.0%"),
        ("Bob B", "43", "300", "25.0%"),
    ]
    assert [row.name for row in page.constructors] == ["X", "Y"]
    with pytest.raises(views.PageNotFoundError, match="not in the published data"):
        views.championship(_served(_predictions()))
    partial = views.championship(_served(_predictions(), {views.CHAMPIONSHIP_TABLE: odds.drop("title_probability")}))
    assert partial.drivers == () and "title_probability" in partial.notes[0]


@pytest.mark.parametrize(
    ("probability", "decided", "text"),
    [
        (1.0, True, "100.0%"),
        (1.0, False, ">99.9%"),
        (0.9996, False, ">99.9%"),
        (0.0, True, "0.0%"),
        (0.0, False, "<0.1%"),
        (0.25, False, "25.0%"),
    ],
)
def test_a_title_shows_100_or_0_percent_only_when_decided(probability, decided, text):
    assert percent(probability, decided) == text


def test_title_odds_are_ordered_by_chance_then_expected_points_then_name_and_drawn_over_the_rounds():
    odds = pl.DataFrame(
        {
            "season": [2030] * 3,
            "after_round": [2] * 3,
            "entity": ["driver"] * 3,
            "id": ["c", "b", "a"],
            "name": ["Cid C", "Bob B", "Ann A"],
            "points_now": [10.0, 43.0, 25.0],
            "title_probability": [0.4, 0.3, 0.3],
            "expected_points": [200.0, 300.0, 300.0],
        }
    )
    history = pl.concat(
        [
            odds.with_columns(after_round=pl.lit(1, pl.Int64), title_probability=pl.Series([0.2, 0.5, 0.3])),
            odds,
        ]
    ).with_columns(title_decided=False)
    page = views.championship(
        _served(_predictions(), {views.CHAMPIONSHIP_TABLE: odds, views.TITLE_HISTORY_TABLE: history})
    )
    assert [row.name for row in page.drivers] == ["Cid C", "Ann A", "Bob B"]
    chart = page.drivers_chart
    assert chart is not None and page.constructors_chart is None
    assert [line.name for line in chart.lines] == ["Bob B", "Cid C", "Ann A"]
    assert [tick.label for tick in chart.x_ticks] == ["1", "2"]
    assert "Bob B: round 1 50%, round 2 30%" in chart.description
    nav, footer = [("/", "Next race")], {"snapshot": "s", "model": "m v7"}
    html = (
        templates().get_template("championship.html").render(page=page, nav=nav, footer=footer, current="/championship")
    )
    assert html.count("chart-svg") == 1 and 'id="drivers-title-chart-title"' in html and "<script" not in html


def test_the_optional_parts_render_as_bars():
    odds = pl.DataFrame(
        {
            "season": [2030],
            "after_round": [1],
            "entity": ["driver"],
            "name": ["Ann <A>"],
            "points_now": [25.0],
            "title_probability": [1.0],
        }
    )
    served = _served(_predictions(podium_probability=[0.9, 0.8, 0.95, 0.85]), {views.CHAMPIONSHIP_TABLE: odds})
    nav, footer = [("/", "Next race")], {"snapshot": "s", "model": "m v7"}
    title = (
        templates()
        .get_template("championship.html")
        .render(page=views.championship(served), nav=nav, footer=footer, current="/championship")
    )
    assert "Ann &lt;A&gt;" in title and 'class="bar-fill" width="100.00"' in title and "Expected" not in title
    race = (
        templates()
        .get_template("next_race.html")
        .render(page=views.next_race(served, date(2030, 3, 2)), nav=nav, footer=footer, current="/")
    )
    assert race.count('class="bar-fill"') == 4  # win and podium for each of the two drivers
    assert "up 30.0 pts" in race and "Air temperature" in race


def test_the_templates_and_the_stylesheet_ship_with_the_package():
    """`pip install .` (not editable) carries only what [tool.setuptools.package-data] names."""
    root = Path(views.__file__).parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["f1_serving"]
    package = root / "f1_serving"
    files = [
        path.relative_to(package).as_posix()
        for folder in ("templates", "static")
        for path in (package / "dashboard" / folder).rglob("*")
        if path.is_file()
    ]
    assert len(files) >= 9
    assert [path for path in files if not any(fnmatch.fnmatch(path, glob) for glob in globs)] == []


def test_an_observed_share_is_what_happened_not_a_chance():
    assert share(1.0) == "100.0%" and share(0.0) == "0.0%" and share(None) == MISSING


def test_every_outcome_the_accuracy_data_scores_gets_a_column():
    columns = ["season", "log_loss", "podium_log_loss", "win_driver_log_loss", "podium_driver_log_loss", "top6_ece"]
    assert views.scored_outcomes([*columns, "not_classified_driver_log_loss"]) == ["podium", "not_classified"]


def _decisions(*rows: tuple) -> pl.DataFrame:
    columns = ("action", "candidate_version", "previous_champion_version", "resulting_champion_version")
    scores = ("candidate_log_loss", "champion_log_loss", "deciding_outcomes", "reason")
    return pl.DataFrame(
        [
            dict(zip(("decided_at", *columns, *scores), (datetime(2030, 3, day, 10, tzinfo=UTC), *row), strict=True))
            for day, row in enumerate(rows, start=1)
        ],
        schema={
            "decided_at": pl.Datetime("us", "UTC"),
            **dict.fromkeys(columns, pl.String),
            "candidate_log_loss": pl.Float64,
            "champion_log_loss": pl.Float64,
            "deciding_outcomes": pl.String,
            "reason": pl.String,
        },
    )


ACCURACY = pl.DataFrame({"season": [2030], "round": [1]})
PROMOTED_OVER_6 = ("promotion", "7", "6", "7", 0.47134, 0.48019, "win", "candidate 0.4713 vs champion 0.4802")
TRAIL = _decisions(
    ("promotion", "6", None, "6", 0.5, None, "win", "no champion yet"),
    PROMOTED_OVER_6,
    ("refusal", "8", "7", "7", 0.46, 0.47, "podium,points", "kept the champion: worse on podium, points"),
)


def _model_card(decisions: pl.DataFrame) -> views.ModelPage:
    return views.model_card(_served(_predictions(), {"promotions": decisions, "prediction_accuracy": ACCURACY}))


def test_the_model_card_says_the_gates_decision_that_made_the_champion():
    page = _model_card(TRAIL)
    assert page.became_champion == (
        "The registry's gate promoted version 7 over version 6 on 2030-03-02 10:00 UTC, deciding on Win: "
        "candidate 0.4713 vs champion 0.4802."
    )
    assert [(row.decided_at, row.action, row.version, row.deciding_outcomes) for row in page.decisions] == [
        ("2030-03-03 10:00 UTC", "refused by the gate", "8", "Podium, Points"),
        ("2030-03-02 10:00 UTC", "promoted by the gate", "7", "Win"),
        ("2030-03-01 10:00 UTC", "promoted by the gate", "6", "Win"),
    ]
    assert page.decisions[0].reason == "kept the champion: worse on podium, points"
    html = templates().get_template("model.html").render(page=page, nav=[], footer={}, current="/model")
    assert "Why this version is the champion" in html and "refused by the gate" in html


@pytest.mark.parametrize(
    ("decision", "said"),
    [
        (
            ("manual_promotion", "7", "6", "7", None, None, None, "hotfix"),
            "An operator promoted version 7 on 2030-03-01 10:00 UTC, overriding the gate: hotfix.",
        ),
        (
            ("rollback", "7", "8", "7", None, None, None, "bad podium odds"),
            "An operator rolled the champion back to version 7 on 2030-03-01 10:00 UTC: bad podium odds.",
        ),
        (
            ("promotion", "7", None, "7", 0.5, None, "win", "no champion yet"),
            "The registry's gate made version 7 the first champion on 2030-03-01 10:00 UTC: no champion yet.",
        ),
    ],
)
def test_an_operators_decision_or_a_first_champion_is_said_as_such(decision, said):
    page = _model_card(_decisions(decision))
    assert page.became_champion == said
    assert page.decisions[0].deciding_outcomes == (MISSING if decision[6] is None else "Win")


def test_a_champion_promoted_after_the_publication_is_said_to_be_so():
    page = _model_card(_decisions(("promotion", "6", None, "6", 0.5, None, "win", "no champion yet")))
    assert page.became_champion.startswith("The published data records no decision that made version 7 the champion")


def test_a_range_of_small_shares_keeps_a_decimal():
    assert views.percent_range(0.41, 0.532) == "41-53%"
    assert views.percent_range(0.0, 0.0027) == "0.0-0.3%"
