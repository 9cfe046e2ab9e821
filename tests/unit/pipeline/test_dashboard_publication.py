"""What the pipeline publishes for the dashboard: each circuit's time zone and the recent per-race ratings."""

from datetime import date

import polars as pl

from f1_pipeline.serving_tables import RATING_HISTORY_SEASONS, calendar, rating_history

RACES = pl.DataFrame(
    {
        "season": [2019, 2030],
        "round": [1, 1],
        "race_name": ["Old GP", "Hungarian GP"],
        "date": [date(2019, 3, 1), date(2030, 7, 26)],
        "starts_at": [None, None],
        "circuit_id": ["nowhere", "hungaroring"],
        "qualifying_date": [None, None],
        "sprint_date": [None, None],
        "has_sprint": [False, False],
        "status": ["completed", "scheduled"],
        "is_next": [False, True],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32, "starts_at": pl.Datetime("us", "UTC")},
)
CIRCUITS = pl.DataFrame(
    {
        "circuit_id": ["hungaroring", "suzuka", "nowhere"],
        "name": ["Hungaroring", "Suzuka Circuit", "Unmapped"],
        "locality": ["Budapest", "Suzuka", None],
        "country": ["Hungary", "Japan", None],
        "latitude": [47.5789, 34.8431, None],
        "longitude": [19.2486, 136.541, None],
    }
)
DRIVERS = pl.DataFrame({"driver_id": ["a", "b"], "full_name": ["Ann A", "Bob B"], "code": ["ANN", "BOB"]})
CONSTRUCTORS = pl.DataFrame({"constructor_id": ["x"], "name": ["Xteam"]})
NO_RESULTS = pl.DataFrame(
    {"season": [], "round": [], "driver_id": [], "finish_position": []},
    schema={"season": pl.Int32, "round": pl.Int32, "driver_id": pl.String, "finish_position": pl.Int32},
)


def test_the_calendar_names_each_circuits_time_zone_from_its_coordinates():
    table = calendar(RACES, CIRCUITS, NO_RESULTS, DRIVERS)
    assert table.select("circuit_id", "timezone").rows() == [("nowhere", None), ("hungaroring", "Europe/Budapest")]


def test_rating_history_keeps_the_recent_seasons_named_in_race_order():
    seasons = [2030 - RATING_HISTORY_SEASONS, 2030 - RATING_HISTORY_SEASONS + 1, 2030, 2030, 2030]
    history = pl.DataFrame(
        {
            "season": seasons,
            "round": [1, 1, 2, 1, 1],
            "entity": ["driver", "driver", "driver", "driver", "team"],
            "entity_id": ["a", "a", "a", "a", "x"],
            "rating_before": [1500.0] * 5,
            "rating_after": [1490.0, 1510.0, 1530.0, 1520.0, 1505.0],
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )
    table = rating_history(history, DRIVERS, CONSTRUCTORS, RACES)
    assert table.columns == ["season", "round", "race_name", "date", "entity", "entity_id", "name", "elo"]
    assert table.select("season", "round", "entity", "name", "elo").rows() == [
        (2030 - RATING_HISTORY_SEASONS + 1, 1, "driver", "Ann A", 1510.0),
        (2030, 1, "driver", "Ann A", 1520.0),
        (2030, 2, "driver", "Ann A", 1530.0),
        (2030, 1, "team", "Xteam", 1505.0),
    ]
    assert table.filter(season=2030, round=1, entity="driver")["race_name"].to_list() == ["Hungarian GP"]
