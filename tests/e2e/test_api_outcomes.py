"""Fan-ready answers over the real materialized pipeline (the session's `trained` graph, seasons 2012-2026): every
finishing-order chance and the contributions equal the published tables, the percentages are the probabilities
rounded, the title odds are the published ones, the data's freshness is said, and a race not yet run has no result
fields."""

import io
import itertools
import json
from datetime import date

import polars as pl
import pytest

from f1_pipeline.modeling.outcomes import OUTCOME_COLUMNS
from f1_serving.served.queries import PERCENTAGES, freshness

PREFIX = "/api/v1"
RESULT_FIELDS = ("won", "finish_position")


@pytest.fixture(scope="module")
def published(client):
    return client.app.state.runtime.state.served.publication


def _get(client, headers, path, **params):
    response = client.get(PREFIX + path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response


def _assert_rows_match(answer, table, extra=()):
    """Every chance of every row equals the published table's, its percentage is round(100 p, 1), and the race's
    chances are consistent: P(win) sums to 1, P(podium) to 3 (a 20-car field almost surely classifies three cars), and
    no car scores unless classified."""
    expected = {row["driver_id"]: row for row in table.iter_rows(named=True)}
    assert {row["driver_id"] for row in answer["predictions"]} == set(expected)
    for row in answer["predictions"]:
        published = expected[row["driver_id"]]
        for column in ("probability", *OUTCOME_COLUMNS, *extra):
            assert row[column] == published[column], (row["driver_id"], column)
        for column, pct in PERCENTAGES.items():
            assert row[pct] == (None if row[column] is None else round(100 * row[column], 1))
    assert sum(row["probability"] for row in answer["predictions"]) == pytest.approx(1.0)
    assert sum(row["podium_probability"] for row in answer["predictions"]) == pytest.approx(3.0)
    assert all(
        row["probability"]
        <= row["podium_probability"]
        <= row["top6_probability"]
        <= row["points_probability"]
        <= 1 - row["not_classified_probability"] + 1e-9
        for row in answer["predictions"]
    )
    assert all(0 < row["not_classified_probability"] < 1 for row in answer["predictions"])
    assert answer["trouble_share"] == table["trouble_share"][0], "the race law's share, as published"


def test_the_next_race_gives_every_chance_and_its_contributions_as_published(client, headers, published):
    body = _get(client, headers, "/predictions/next-race").json()
    table = published.tables["next_race"].filter(pl.col("mode") == body["mode"])
    _assert_rows_match(body, table)
    contributions = {row["driver_id"]: json.loads(row["top_contributions"]) for row in table.iter_rows(named=True)}
    for row in body["predictions"]:
        assert row["top_contributions"] == contributions[row["driver_id"]]
        assert row["top_contributions"] and {"feature", "contribution"} == set(row["top_contributions"][0])
        assert not set(RESULT_FIELDS) & set(row), "a race not yet run has no result fields"


def test_the_next_race_names_its_circuit_local_start_and_stale_data(client, headers, published):
    body = _get(client, headers, "/predictions/next-race").json()
    race = published.tables["calendar"].filter("is_next").row(0, named=True)
    assert (body["circuit_name"], body["country"], body["timezone"]) == (
        race["circuit_name"],
        race["country"],
        race["timezone"],
    )
    assert body["timezone"] and body["local_starts_at"]
    local = pl.Series([body["local_starts_at"]]).str.to_datetime(time_zone="UTC")[0]
    assert local == race["starts_at"], "the local start is the same instant as the UTC start"
    hungary = published.tables["calendar"].filter(season=2026, race_name="Hungarian Grand Prix").row(0, named=True)
    assert body["data_through"] == {
        "season": 2026,
        "round": hungary["round"],
        "race_name": "Hungarian Grand Prix",
        "date": "2026-07-26",
    }
    assert body["stale"] is True
    assert "after the Hungarian Grand Prix, 26 July 2026 without results" in body["stale_reason"]
    others = [
        _get(client, headers, path).json()
        for path in (
            "/predictions/races/2025/1",
            "/races/2026",
            "/championship",
            "/analytics/accuracy",
            "/analytics/accuracy/2025",
            "/analytics/rankings/drivers",
            "/analytics/rankings/teams",
        )
    ]
    for other in others:
        assert (other["data_through"], other["stale"], other["stale_reason"]) == (
            body["data_through"],
            True,
            body["stale_reason"],
        )


def test_freshness_is_not_stale_when_nothing_is_overdue(published):
    calendar = published.tables["calendar"]
    fresh = freshness(calendar, date(2026, 7, 27))
    assert (fresh.data_through.race_name, fresh.stale, fresh.stale_reason) == ("Hungarian Grand Prix", False, None)
    assert freshness(calendar, date(2026, 11, 28)).stale


def test_the_calendar_leaves_winner_fields_out_of_races_not_run(client, headers):
    races = _get(client, headers, "/races/2026").json()["races"]
    run = [race for race in races if race["status"] == "completed"]
    not_run = [race for race in races if race["status"] != "completed"]
    assert run and not_run
    assert all("winner_driver_id" in race and race["winner_name"] for race in run)
    assert not any("winner_driver_id" in race or "winner_name" in race for race in not_run)


def test_a_past_race_gives_every_chance_with_the_result(client, headers, published):
    body = _get(client, headers, "/predictions/races/2025/1", mode="post_qualifying").json()
    table = published.tables["race_predictions"].filter(
        (pl.col("mode") == "post_qualifying") & (pl.col("season") == 2025) & (pl.col("round") == 1)
    )
    _assert_rows_match(body, table, extra=RESULT_FIELDS)
    assert sum(bool(row["won"]) for row in body["predictions"]) == 1
    assert "top_contributions" not in body["predictions"][0]
    assert body["circuit_name"] and body["local_starts_at"] is not None


def test_a_race_before_qualifying_names_the_trouble_chosen_from_the_races_before_it(client, headers, published):
    """Before qualifying each race's share comes from the 40 races before it; after qualifying it is one law's."""
    shares = published.tables["race_predictions"].group_by("mode").agg(pl.col("trouble_share").unique())
    by_mode = {row["mode"]: set(row["trouble_share"]) for row in shares.iter_rows(named=True)}
    assert by_mode["post_qualifying"] == {0.1}
    assert by_mode["pre_qualifying"] <= {0.2, 0.3, 0.4} and len(by_mode["pre_qualifying"]) > 1
    body = _get(client, headers, "/predictions/races/2025/1", mode="pre_qualifying").json()
    assert body["trouble_share"] in by_mode["pre_qualifying"]


def test_every_backtested_race_of_a_season_sums_to_one_and_three(client, headers, published):
    table = published.tables["race_predictions"].filter(pl.col("season") == 2024)
    for season, round_ in table.select("season", "round").unique().sort("round").rows():
        body = _get(client, headers, f"/predictions/races/{season}/{round_}").json()
        _assert_rows_match(
            body, table.filter((pl.col("round") == round_) & (pl.col("mode") == body["mode"])), RESULT_FIELDS
        )


def test_the_championship_gives_the_published_title_odds(client, headers, published):
    body = _get(client, headers, "/championship").json()
    odds = published.tables["championship_odds"]
    assert (body["season"], body["after_round"]) == (2026, odds["after_round"][0])
    for key, entity in (("drivers", "driver"), ("constructors", "constructor")):
        rows = body[key]
        expected = {row["id"]: row for row in odds.filter(pl.col("entity") == entity).iter_rows(named=True)}
        assert {row["id"] for row in rows} == set(expected)
        assert sum(row["title_probability"] for row in rows) == pytest.approx(1.0)
        assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
        assert [row["title_probability"] for row in rows] == sorted(
            (r["title_probability"] for r in rows), reverse=True
        )
        for row in rows:
            assert row["title_probability"] == expected[row["id"]]["title_probability"]
            assert row["points_now"] == expected[row["id"]]["points_now"]
            assert row["title_pct"] == round(100 * row["title_probability"], 1)


def test_the_championship_history_gives_the_odds_after_every_completed_round(client, headers, published):
    body = _get(client, headers, "/championship/history").json()
    history = published.tables["title_odds_by_round"]
    assert body["season"] == 2026
    assert sorted({row["after_round"] for row in body["odds"]}) == list(range(1, 12))
    assert len(body["odds"]) == history.height
    for (after_round, entity), rows in itertools.groupby(body["odds"], key=lambda r: (r["after_round"], r["entity"])):
        rows = list(rows)
        assert sum(row["title_probability"] for row in rows) == pytest.approx(1.0), (after_round, entity)
        keys = [(-row["title_probability"], -row["expected_points"], row["name"]) for row in rows]
        assert keys == sorted(keys)
    last = [row for row in body["odds"] if row["after_round"] == 11 and row["entity"] == "driver"]
    current = _get(client, headers, "/championship").json()["drivers"]
    assert last[0]["id"] == current[0]["id"]
    assert not any(row["title_decided"] for row in last)  # 12 rounds were left after round 11


def test_the_exports_carry_the_chances_and_the_title_odds(client, headers, published):
    rows = pl.read_csv(io.BytesIO(_get(client, headers, "/export/predictions", season=2026).content))
    assert set(OUTCOME_COLUMNS) <= set(rows.columns)
    expected = pl.concat(
        [published.tables["race_predictions"], published.tables["next_race"]], how="diagonal_relaxed"
    ).filter(pl.col("season") == 2026)
    assert rows.height == expected.height
    assert rows["podium_probability"].sum() == pytest.approx(expected["podium_probability"].sum())
    odds = _get(client, headers, "/export/championship", format="json")
    assert odds.headers["content-disposition"] == 'attachment; filename="f1-championship-2026.json"'
    assert len(odds.json()) == published.tables["championship_odds"].height
    assert sum(row["title_probability"] for row in odds.json() if row["entity"] == "driver") == pytest.approx(1.0)
