"""Serving tables: the joins and season totals the API serves, on hand-made frames and on the real published data."""

from datetime import UTC, date, datetime

import dagster as dg
import polars as pl
import pytest

from f1_pipeline.publication import TABLES, current_snapshot, read_publication
from f1_pipeline.serving_tables import (
    SCHEMAS,
    WarehouseTables,
    calendar,
    championship_odds,
    driver_rankings,
    next_race_features,
    race_predictions,
    results,
    serving_tables,
    team_rankings,
    with_names,
)
from f1_pipeline.tables import CHAMPIONSHIP_ODDS, PROMOTIONS
from tests.conftest import warehouse_of

# Season 2030: round 1 and 2 run, round 3 next. Drivers a and b drive for x; c drives for y, then z.
RACES = pl.DataFrame(
    {
        "season": [2030, 2030, 2030],
        "round": [1, 2, 3],
        "race_name": ["One GP", "Two GP", "Three GP"],
        "date": [date(2030, 3, 1), date(2030, 3, 8), date(2030, 3, 15)],
        "starts_at": [datetime(2030, 3, 1, 14)] * 3,
        "circuit_id": ["alpha", "beta", "alpha"],
        "url": [None, None, None],
        "qualifying_date": [None, None, date(2030, 3, 14)],
        "sprint_date": [date(2030, 2, 28), date(2030, 3, 7), None],
        "has_sprint": [True, True, False],
        "status": ["completed", "completed", "scheduled"],
        "is_next": [False, False, True],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32, "qualifying_date": pl.Date},
).with_columns(pl.col("starts_at").dt.replace_time_zone("Etc/UTC"))
CIRCUITS = pl.DataFrame(
    {
        "circuit_id": ["alpha", "beta"],
        "name": ["Alpha Ring", "Beta Park"],
        "locality": ["Alphaville", "Betatown"],
        "country": ["A", "B"],
        "latitude": [1.0, 2.0],
        "longitude": [1.0, 2.0],
    }
)
DRIVERS = pl.DataFrame(
    {"driver_id": ["a", "b", "c"], "full_name": ["Ann A", "Bob B", "Cid C"], "code": ["ANN", None, "CID"]}
)
CONSTRUCTORS = pl.DataFrame({"constructor_id": ["x", "y", "z"], "name": ["Xteam", "Yteam", "Zteam"]})
RESULTS = pl.DataFrame(
    {
        "season": [2030] * 6,
        "round": [1, 1, 1, 2, 2, 2],
        "driver_id": ["a", "c", "b", "b", "a", "c"],
        "constructor_id": ["x", "y", "x", "x", "x", "z"],
        "grid": [1, 2, 3, 2, 1, 3],
        "position_order": [1, 2, 3, 1, 2, 3],
        "finish_position": [1, 2, None, 1, 2, 3],
        "position_text": ["1", "2", "R", "1", "2", "3"],
        "points": [25.0, 18.0, 0.0, 25.0, 18.0, 15.0],
        "laps": [50, 50, 10, 50, 50, 50],
        "status": ["Finished", "Finished", "Engine", "Finished", "Finished", "Finished"],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32},
)
SPRINTS = pl.DataFrame(
    {
        "season": [2030, 2030, 2030],
        "round": [1, 2, 2],
        "driver_id": ["b", "c", "a"],
        "constructor_id": ["x", "z", "x"],
        "points": [16.0, 8.0, 7.0],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32},
)
ELO = pl.DataFrame(
    {
        "season": [2030] * 10,
        "round": [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
        "entity": ["driver", "driver", "driver", "team", "team"] * 2,
        "entity_id": ["a", "b", "c", "x", "y", "a", "b", "c", "x", "z"],
        "rating_after": [1520.0, 1490.0, 1510.0, 1505.0, 1490.0, 1550.0, 1500.0, 1500.0, 1510.0, 1480.0],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32},
)


def test_with_names_puts_names_beside_the_ids_and_keeps_unknown_ones():
    frame = pl.DataFrame({"season": [2030, 2030], "round": [1, 1], "driver_id": ["a", "ghost"]}).with_columns(
        pl.col("season", "round").cast(pl.Int32), constructor_id=pl.lit("x")
    )
    named = with_names(frame, DRIVERS, CONSTRUCTORS, RACES)
    assert named.columns[-6:] == ["driver_name", "driver_code", "constructor_name", "race_name", "date", "circuit_id"]
    assert named["driver_name"].to_list() == ["Ann A", None]
    assert named["constructor_name"].to_list() == ["Xteam", "Xteam"]


def test_calendar_has_every_race_with_its_circuit_and_winner_once_run():
    table = calendar(RACES, CIRCUITS, RESULTS, DRIVERS)
    assert table.select("round", "circuit_name", "country", "winner_driver_id", "winner_name").rows() == [
        (1, "Alpha Ring", "A", "a", "Ann A"),
        (2, "Beta Park", "B", "b", "Bob B"),
        (3, "Alpha Ring", "A", None, None),
    ]
    assert table.filter("is_next")["round"].to_list() == [3]


def test_calendar_names_one_winner_for_a_shared_drive():
    shared = RESULTS.filter(pl.col("round") == 1).with_columns(finish_position=pl.Series([1, 1, None], dtype=pl.Int32))
    table = calendar(RACES, CIRCUITS, shared.with_columns(driver_id=pl.Series(["c", "a", "b"])), DRIVERS)
    assert table.filter(pl.col("round") == 1)["winner_driver_id"].to_list() == ["a"]
    assert table.height == RACES.height


def test_results_are_in_finishing_order_with_names():
    table = results(RESULTS, DRIVERS, CONSTRUCTORS, RACES)
    assert table.columns == [
        "season", "round", "race_name", "date", "driver_id", "driver_name", "driver_code", "constructor_id",
        "constructor_name", "grid", "finish_position", "position_order", "position_text", "points", "laps", "status",
    ]  # fmt: skip
    assert table.filter(pl.col("round") == 2).select("driver_name", "constructor_name", "race_name").rows() == [
        ("Bob B", "Xteam", "Two GP"),
        ("Ann A", "Xteam", "Two GP"),
        ("Cid C", "Zteam", "Two GP"),
    ]


def test_race_predictions_keep_every_row_and_say_what_happened():
    predictions = pl.DataFrame(
        {
            "mode": ["pre_qualifying"] * 4,
            "season": [2030] * 4,
            "round": [2] * 4,
            "driver_id": ["a", "b", "c", "d"],
            "probability": [0.4, 0.3, 0.2, 0.1],
            "rank": [1, 2, 3, 4],
            "won": [True, False, False, False],  # stale: replaced from the results
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )
    table = race_predictions(predictions, RESULTS)
    assert table.select("driver_id", "won", "finish_position").rows() == [
        ("a", False, 2),
        ("b", True, 1),
        ("c", False, 3),
        ("d", None, None),  # no result: never started
    ]


def test_race_predictions_count_a_shared_drive_win_for_the_driver():
    two_cars = pl.DataFrame(
        {"season": [1951, 1951], "round": [4, 4], "driver_id": ["a", "a"], "finish_position": [None, 1]},
        schema_overrides={"season": pl.Int32, "round": pl.Int32, "finish_position": pl.Int32},
    )
    predictions = pl.DataFrame({"mode": ["post_qualifying"], "season": [1951], "round": [4], "driver_id": ["a"]})
    table = race_predictions(predictions.with_columns(pl.col("season", "round").cast(pl.Int32), rank=1), two_cars)
    assert table.select("won", "finish_position").rows() == [(True, 1)]


def test_driver_rankings_total_race_and_sprint_points_and_rank_them():
    table = driver_rankings(RESULTS, SPRINTS, ELO, DRIVERS, CONSTRUCTORS)
    assert table.columns == [
        "season", "driver_id", "driver_name", "driver_code", "constructor_name", "races", "wins", "podiums", "points",
        "elo", "elo_rank", "points_rank",
    ]  # fmt: skip
    # b and c tie on 41 points: b has a win. b and c tie on ELO: b comes first by id.
    assert table.drop("season", "driver_name", "driver_code").rows() == [
        ("a", "Xteam", 2, 1, 2, 50.0, 1550.0, 1, 1),
        ("b", "Xteam", 2, 1, 1, 41.0, 1500.0, 2, 2),
        ("c", "Zteam", 2, 0, 2, 41.0, 1500.0, 3, 3),
    ]


def test_team_rankings_count_each_cars_podiums_and_the_last_rating():
    table = team_rankings(RESULTS, SPRINTS, ELO, CONSTRUCTORS)
    assert table.drop("season").rows() == [
        ("x", "Xteam", 2, 2, 3, 91.0, 1510.0, 1, 1),
        ("z", "Zteam", 1, 0, 1, 23.0, 1480.0, 3, 2),
        ("y", "Yteam", 1, 0, 1, 18.0, 1490.0, 2, 3),
    ]


def test_rankings_rank_within_each_season():
    later = RESULTS.with_columns(season=pl.lit(2031, pl.Int32))
    table = driver_rankings(pl.concat([RESULTS, later]), SPRINTS, ELO, DRIVERS, CONSTRUCTORS)
    assert table.group_by("season").agg(pl.col("points_rank").sort()).sort("season")["points_rank"].to_list() == [
        [1, 2, 3],
        [1, 2, 3],
    ]
    assert table.filter(season=2031)["elo_rank"].to_list() == [None] * 3  # no ratings that season: unranked


ODDS = pl.DataFrame(
    {
        "season": [2030] * 4,
        "after_round": [2] * 4,
        "entity": ["constructor", "driver", "constructor", "driver"],
        "id": ["x", "c", "y", "a"],
        "name": ["Xteam", "Cee", "Yteam", "Ay"],
        "points_now": [40.0, 18.0, 18.0, 33.0],
        "title_probability": [0.8, 0.3, 0.2, 0.7],
        "expected_points": [90.0, 40.0, 50.0, 70.0],
        "title_decided": [False] * 4,
    },
    schema_overrides={"season": pl.Int32, "after_round": pl.Int32},
)


def test_championship_odds_list_drivers_then_constructors_most_likely_first():
    table = championship_odds(ODDS)
    assert table.select("entity", "id").rows() == [
        ("driver", "a"),
        ("driver", "c"),
        ("constructor", "x"),
        ("constructor", "y"),
    ]
    assert set(SCHEMAS["championship_odds"]) <= set(table.columns)


DECISIONS = pl.DataFrame(
    {
        "decided_at": [datetime(2030, 3, 9, tzinfo=UTC), datetime(2030, 3, 2, tzinfo=UTC)],
        "action": ["refusal", "promotion"],
        "candidate_version": ["2", "1"],
        "previous_champion_version": ["1", None],
        "resulting_champion_version": ["1", "1"],
        "candidate_log_loss": [0.5, 0.6],
        "champion_log_loss": [0.55, None],
        "candidate_podium_log_loss": [0.4, 0.4],
        "champion_podium_log_loss": [0.4, None],
        "evaluation_fingerprint": ["f", "f"],
        "reason": ["kept the champion", "no champion yet"],
        "decided_by": ["run", "run"],
        "deciding_outcomes": ["win", "win"],
    }
).with_columns(pl.col("decided_at").dt.convert_time_zone("Etc/UTC"))


def test_serving_tables_builds_every_published_table_in_utc():
    features = pl.DataFrame(
        {"season": [2030, 2030], "round": [2, 3], "driver_id": ["a", "a"], "is_next": [False, True]}
    )
    next_race = pl.DataFrame(
        {"mode": ["pre_qualifying"], "season": [2030], "round": [3], "rank": [1], "predicted_at": [datetime.now(UTC)]}
    ).with_columns(pl.col("predicted_at").dt.convert_time_zone("Etc/UTC"))
    tables = serving_tables(
        WarehouseTables(
            races=RACES,
            circuits=CIRCUITS,
            drivers=DRIVERS,
            constructors=CONSTRUCTORS,
            race_results=RESULTS,
            sprint_results=SPRINTS,
            elo_history=ELO,
            race_features=features,
            next_race=next_race,
            race_predictions=next_race.drop("predicted_at").with_columns(driver_id=pl.lit("a")),
            prediction_accuracy=pl.DataFrame({"mode": ["pre_qualifying"], "season": [2030], "round": [2]}),
            championship_odds=ODDS,
            title_odds_by_round=ODDS,
            promotions=DECISIONS,
            title_forecasts=pl.DataFrame(schema=SCHEMAS["title_forecasts"]),
        )
    )
    assert tuple(tables) == TABLES
    assert tables["promotions"].columns == list(SCHEMAS["promotions"])  # who decided stays in the warehouse
    assert tables["promotions"]["candidate_version"].to_list() == ["1", "2"]  # oldest first
    assert tables["promotions"].schema["decided_at"] == pl.Datetime("us", "UTC")
    assert tables["calendar"].schema["starts_at"] == pl.Datetime("us", "UTC")
    assert tables["next_race"].schema["predicted_at"] == pl.Datetime("us", "UTC")
    assert next_race_features(features)["round"].to_list() == [3]


class TestPublishedByTheWholeGraph:
    """What the pipeline published on seasons 2012-2026 (the session's `trained` run), read as the API reads it."""

    @pytest.fixture(scope="class")
    def published(self, trained):
        settings, _ = trained
        return read_publication(settings.serving_dir)

    def test_the_serving_data_was_published_and_checked(self, trained, published):
        settings, result = trained
        assert current_snapshot(settings.serving_dir) == published.manifest.snapshot_id
        materialization = result.asset_materializations_for_node("serving_data")[0]
        assert materialization.metadata["snapshot_id"].value == published.manifest.snapshot_id
        assert materialization.metadata["new_snapshot"].value is True
        [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "check_serving_data_readable"]
        assert check.passed and check.severity == dg.AssetCheckSeverity.ERROR

    def test_every_table_has_rows(self, published):
        assert {name: frame.height > 0 for name, frame in published.tables.items()} == dict.fromkeys(TABLES, True)
        assert published.manifest.model_version == "1"

    def test_the_calendar_holds_abu_dhabi_2021_won_by_verstappen(self, published):
        race = published.tables["calendar"].filter(season=2021, race_name="Abu Dhabi Grand Prix")
        assert race.select("winner_driver_id", "winner_name", "circuit_name").rows() == [
            ("max_verstappen", "Max Verstappen", "Yas Marina Circuit")
        ]
        assert published.tables["calendar"].filter("is_next").select("season", "round").rows() == [(2026, 12)]

    def test_the_title_odds_of_the_current_season_are_published_as_the_pipeline_computed_them(self, trained, published):
        settings, _ = trained
        odds = published.tables["championship_odds"]
        assert odds["season"].unique().to_list() == [2026]
        assert odds.group_by("entity").agg(pl.col("title_probability").sum()).sort("entity").rows() == [
            ("constructor", pytest.approx(1.0)),
            ("driver", pytest.approx(1.0)),
        ]
        computed = warehouse_of(settings).read(CHAMPIONSHIP_ODDS)
        assert odds.sort("entity", "id").equals(computed.sort("entity", "id"))

    def test_the_gates_decisions_are_published_as_recorded(self, trained, published):
        settings, _ = trained
        recorded = warehouse_of(settings).read(PROMOTIONS).sort("decided_at")
        decisions = published.tables["promotions"]
        # decisions that later tests on the same graph record after the publication are not in it
        published_at = published.manifest.published_at
        recorded = recorded.filter(pl.col("decided_at").dt.convert_time_zone("UTC") <= published_at)
        assert decisions.columns == list(SCHEMAS["promotions"])
        assert decisions["reason"].to_list() == recorded["reason"].to_list()
        first = decisions.row(0, named=True)
        assert (first["action"], first["resulting_champion_version"], first["deciding_outcomes"]) == (
            "promotion",
            "1",
            "win",
        )

    def test_published_predictions_carry_the_finishing_order_outcomes(self, published):
        for name in ("next_race", "race_predictions"):
            table = published.tables[name]
            assert table["podium_probability"].null_count() == 0
            sums = table.group_by("mode", "season", "round").agg(
                win=pl.col("probability").sum(), podium=pl.col("podium_probability").sum()
            )
            assert sums["win"].to_list() == pytest.approx([1.0] * sums.height)
            assert sums["podium"].to_list() == pytest.approx([3.0] * sums.height)
        assert published.tables["next_race"]["top_contributions"].null_count() == 0

    def test_2023_rankings_put_verstappen_first_with_19_wins(self, published):
        season = published.tables["driver_rankings"].filter(season=2023).sort("points_rank")
        top = season.row(0, named=True)
        assert (top["driver_id"], top["constructor_name"], top["races"], top["wins"]) == (
            "max_verstappen",
            "Red Bull",
            22,
            19,
        )
        assert top["points"] == 575.0  # race plus sprint points, as scored
        teams = published.tables["team_rankings"].filter(season=2023).sort("points_rank")
        assert teams.row(0, named=True)["constructor_id"] == "red_bull"

    @pytest.mark.parametrize(
        ("table", "entity"), [("driver_rankings", "driver_id"), ("team_rankings", "constructor_id")]
    )
    def test_rankings_have_one_row_per_entity_and_season(self, published, table, entity):
        frame = published.tables[table]
        assert frame.select("season", entity).is_duplicated().sum() == 0
        assert frame["season"].unique().sort().to_list() == list(range(2012, 2027))
        counts = frame.group_by("season").agg(n=pl.len(), top=pl.col("points_rank").max(), elo=pl.col("elo_rank").max())
        assert (counts["n"] == counts["top"]).all() and (counts["n"] == counts["elo"]).all()

    def test_the_next_race_and_its_features_name_the_same_drivers(self, published):
        predicted = published.tables["next_race"]
        features = published.tables["next_race_features"]
        assert predicted.select("season", "round").unique().rows() == [(2026, 12)]
        assert features.select("season", "round").unique().rows() == [(2026, 12)]
        assert sorted(predicted["driver_id"]) == sorted(features["driver_id"])
        assert predicted.schema["predicted_at"] == pl.Datetime("us", "UTC")

    def test_race_predictions_say_who_won(self, published):
        predictions = published.tables["race_predictions"]
        winners = predictions.filter("won").group_by("mode", "season", "round").len()
        assert (winners["len"] == 1).all()
        assert winners.height == predictions.select("mode", "season", "round").n_unique()
