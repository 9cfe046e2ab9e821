"""The dashboard on the real publication of the session's materialized graph (seasons 2012-2026, backtest 2025-2026):
each page's view model against the published tables and the JSON API's answers, then the pages as served."""

from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient

from f1_pipeline.registry.tracking import registry_for
from f1_serving.dashboard import views
from f1_serving.dashboard.formatting import MISSING, percent, share
from f1_serving.main import create_app
from f1_serving.served import queries
from f1_serving.served.serving_state import ServingState
from tests.api_support import api_settings

TODAY = date(2026, 11, 28)
PAGES = ("/", "/season/2025", "/season/2026", "/race/2025/3", "/accuracy", "/ratings", "/model")
CHARTED = ("/", "/race/2025/3", "/accuracy", "/ratings")
"""Pages that draw SVG (bars or charts); the season page and the model card are tables."""


@pytest.fixture(scope="module")
def served(pipeline):
    state = ServingState(registry_for(pipeline), pipeline.serving_dir)
    assert state.refresh(), state.problems
    return state.served


def test_next_race_shows_every_entrant_with_the_published_chance(served):
    page = views.next_race(served, TODAY)
    published = served.next_race.filter(pl.col("mode") == "pre_qualifying").sort("rank")
    upcoming = served.table("calendar").filter(pl.col("is_next")).row(0, named=True)
    assert page.race is not None
    assert page.race.title == f"2026 {upcoming['race_name']}" == "2026 Dutch Grand Prix"
    assert page.race.circuit == "Circuit Park Zandvoort, Zandvoort, Netherlands"
    assert page.race.local_start == "15:00 CEST (13:00 UTC)"
    assert page.mode == "before qualifying" and page.columns[0] == "Win"
    assert [(row.rank, row.driver, row.cells[0].text) for row in page.rows] == [
        (row["rank"], row["driver_name"], percent(row["probability"])) for row in published.iter_rows(named=True)
    ]
    assert page.favourite == f"{published['driver_name'][0]} ({percent(published['probability'][0])})"


def test_next_race_says_the_data_ends_in_july(served):
    fresh = views.next_race(served, TODAY).freshness
    assert fresh.data_through == "Hungarian Grand Prix, 26 July 2026"
    assert fresh.stale and fresh.note is not None and "Las Vegas Grand Prix, 22 November 2026" in fresh.note
    assert not views.next_race(served, date(2026, 8, 1)).freshness.stale


def test_season_favourites_are_the_walk_forward_favourites_after_qualifying(served):
    page = views.season(served, 2025, TODAY)
    favourites = (
        served.table("race_predictions")
        .filter((pl.col("season") == 2025) & (pl.col("mode") == "post_qualifying") & (pl.col("rank") == 1))
        .sort("round")
    )
    calendar = served.table("calendar").filter(pl.col("season") == 2025).sort("round")
    assert len(page.races) == calendar.height == favourites.height == 24
    assert [(race.favourite, race.probability) for race in page.races] == [
        (row["driver_name"], percent(row["probability"])) for row in favourites.iter_rows(named=True)
    ]
    assert [race.winner for race in page.races] == calendar["winner_name"].to_list()
    won = queries.season_accuracy(served, 2025, "post_qualifying", TODAY)
    assert (
        page.summary
        == f"The favourite won {round(won.correct_winner_rate * won.races)} of {won.races} predicted races."
    )


def test_a_season_without_predictions_still_has_its_calendar(served):
    page = views.season(served, 2015, TODAY)
    assert len(page.races) == served.table("calendar").filter(pl.col("season") == 2015).height
    assert all(race.favourite is None and race.favourite_won == MISSING for race in page.races)
    assert page.notes == ("There are no predictions for 2015: the walk-forward backtest covers 2025-2026.",)
    with pytest.raises(views.PageNotFoundError, match="no 1990 calendar"):
        views.season(served, 1990, TODAY)


def test_accuracy_per_season_agrees_with_the_api(served):
    page = views.accuracy(served)
    for mode in ("pre_qualifying", "post_qualifying"):
        api = queries.accuracy_summary(served, mode, TODAY)
        shown = [row for row in page.seasons if row.mode == views.MODE_LABELS[mode]]
        assert [(row.season, row.races, row.favourite_won, row.log_loss) for row in shown] == [
            (season.season, season.races, share(season.correct_winner_rate), f"{season.log_loss:.3f}")
            for season in api.seasons
        ]
    assert page.favourite_chart is not None and len(page.favourite_chart.lines) == 2
    scored = served.table("prediction_accuracy")
    assert sum(row.races for row in page.calibration) == scored.height


def test_ratings_end_where_the_season_rankings_say(served):
    page = views.ratings(served)
    rankings = served.table("driver_rankings").filter(pl.col("season") == 2026).sort("elo_rank")
    assert [(row.name, row.elo) for row in page.drivers] == [
        (row["driver_name"], f"{row['elo']:.0f}") for row in rankings.iter_rows(named=True)
    ]
    assert page.seasons == "2022-2026"
    assert page.drivers_chart is not None and len(page.drivers_chart.lines) == views.RATING_LINES
    assert page.teams_chart is not None and len(page.teams) == 11


def test_the_model_card_is_the_served_champion(served, pipeline):
    """The decision shown is the gate's, as `models.promotions` recorded it and the registry's version says."""
    registry = registry_for(pipeline)
    page = views.model_card(served)
    assert (page.name, page.version) == (served.champion.name, served.champion.version)
    assert page.backtest_seasons == "2025-2026"
    assert page.races == served.table("prediction_accuracy").select("season", "round").n_unique()
    assert "Log loss" in page.metric_columns
    marked = [name for name, _ in page.comparison if name.endswith(" (champion)")]
    assert sorted(marked) == sorted(f"{mode}: {family} (champion)" for mode, family in page.families)
    shown = [name for name, _ in page.comparison]
    assert (
        "after qualifying: a logistic regression on the ELO rating and the starting slot (baseline, elo_grid_logistic)"
        in shown
    )
    assert "before qualifying: the championship leader is the favourite (baseline, championship_leader)" in shown
    assert all("(model family, " in name or "(baseline, " in name for name in shown)
    decision = served.table("promotions").filter(resulting_champion_version=served.champion.version).row(0, named=True)
    assert decision["action"] == "promotion"
    assert page.became_champion == (
        f"The registry's gate made version {served.champion.version} the first champion on "
        f"{decision['decided_at']:%Y-%m-%d %H:%M} UTC: {decision['reason']}."
    )
    assert page.decisions[-1].reason == decision["reason"]
    description = registry.version(served.champion.version).description or ""
    assert description.endswith(f"promotion ({decision['decided_at']:%Y-%m-%d %H:%M} UTC): {decision['reason']}")
    favourite_won = page.metric_columns.index("Favourite won")
    assert all(
        values[favourite_won].endswith("%") for _, values in page.comparison if values[favourite_won] != "\N{EN DASH}"
    )
    assert page.training_seasons == "from 2012; tuned and chosen on 2020-2024; refitted on every completed race"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_html_with_charts_or_bars_and_no_inline_code(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    body = response.text
    assert body.startswith("<!doctype html>") and '<html lang="en">' in body
    assert ("<svg" in body) == (path in CHARTED)
    assert "<script" not in body and " style=" not in body and " onclick" not in body
    again = client.get(path)
    assert again.content == response.content and "x-cache" not in again.headers


def test_pages_without_data_say_so_in_html(client):
    missing = client.get("/season/1990")
    assert missing.status_code == 404 and "no 1990 calendar" in missing.text
    assert client.get("/season/..%2Fetc").status_code == 404


def test_the_championship_page_shows_the_published_title_odds(client, served):
    odds = served.table("championship_odds")
    page = client.get("/championship")
    assert page.status_code == 200
    assert "/championship" in client.get("/").text
    favourite = odds.filter(pl.col("entity") == "driver").sort("title_probability", descending=True).row(0, named=True)
    assert favourite["name"] in page.text and percent(favourite["title_probability"]) in page.text


def test_the_stylesheet_is_served(client):
    response = client.get("/dashboard/assets/dashboard.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")


def test_pages_are_rate_limited_per_client_address(pipeline, tmp_path):
    settings = api_settings(tmp_path, pipeline, rate_limit_per_minute=3)
    with TestClient(create_app(settings)) as client:
        statuses = [client.get("/accuracy").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_next_race_says_in_words_what_moved_each_chance(served):
    page = views.next_race(served, TODAY)
    favourite = page.rows[0]
    assert favourite.why is not None and favourite.why.startswith(("Helped by: ", "Held back by: "))
    assert "_" not in favourite.why, "inputs are said in words, not by their column names"
    assert sum(row.why is not None for row in page.rows) == len(page.rows)
    assert page.passed, "on 28 November the published next race has long been run"


def test_the_ratings_page_says_how_a_rating_differs_from_a_chance(served):
    page = views.ratings(served)
    top_rated = page.drivers[0].name
    favourite = views.next_race(served, TODAY).rows[0].driver
    if top_rated == favourite:
        assert page.contrast is None
    else:
        assert page.contrast is not None and top_rated in page.contrast and favourite in page.contrast


def test_a_race_page_has_every_drivers_chances_beside_the_result_and_the_races_scores(served):
    page = views.race(served, 2025, 3, TODAY)
    key = (pl.col("season") == 2025) & (pl.col("round") == 3)
    published = served.table("race_predictions").filter(key)
    before = published.filter(mode="pre_qualifying").sort("rank")
    after = published.filter(mode="post_qualifying").sort("rank")
    assert len(page.rows) == after.height
    assert [(row.driver, row.after.text) for row in page.rows] == [
        (row["driver_name"], percent(row["probability"])) for row in after.iter_rows(named=True)
    ]
    chances_before = {row["driver_name"]: percent(row["probability"]) for row in before.iter_rows(named=True)}
    assert all(row.before.text == chances_before[row.driver] for row in page.rows)
    results = served.table("results").filter(key)
    winner = results.filter(finish_position=1).row(0, named=True)["driver_name"]
    assert [row.driver for row in page.rows if row.won] == [winner]
    assert all(row.colour.startswith("#") for row in page.rows)
    scores = served.table("prediction_accuracy").filter(key).sort(pl.col("mode") == "post_qualifying")
    assert [(score.log_loss, score.winner_chance) for score in page.scores] == [
        (f"{row['log_loss']:.3f}", percent(row["winner_probability"])) for row in scores.iter_rows(named=True)
    ]


def test_season_rows_and_the_next_race_link_to_race_pages(client):
    assert 'href="/race/2025/3"' in client.get("/season/2025").text
    assert 'href="/race/2026/' in client.get("/").text


@pytest.mark.parametrize("path", ["/no-such-page", "/race/2025/99", "/race/soon/1", "/season/x"])
def test_an_unknown_dashboard_address_gets_a_page_in_the_sites_look(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<nav aria-label="Pages">' in response.text and "/dashboard/assets/dashboard.css" in response.text


def test_an_unknown_api_address_stays_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error_code"] == "not_found"


def test_the_accuracy_page_scores_every_published_outcome(served):
    page = views.accuracy(served)
    scored = served.table("prediction_accuracy")
    assert "Podium log loss" in page.outcome_columns
    podium = page.outcome_columns.index("Podium log loss")
    first = page.seasons[0]
    mode = next(mode for mode, label in views.MODE_LABELS.items() if label == first.mode)
    rows = scored.filter((pl.col("season") == first.season) & (pl.col("mode") == mode))
    assert first.outcomes[podium] == f"{rows['podium_driver_log_loss'].mean():.3f}"


def test_the_accuracy_page_shows_every_chance_reliability_with_the_api_numbers(served):
    """Every published chance in both modes, with its bins' sizes: the numbers the API's accuracy answer gives."""
    page = views.accuracy(served)
    shown = {(item.outcome, item.mode): item for item in page.reliability if item.mode != views.TITLE_CHECKPOINTS}
    assert {outcome for outcome, _ in shown} == set(views.OUTCOME_NAMES.values())
    for mode, label in views.MODE_LABELS.items():
        for scored in queries.outcome_accuracy(served, mode):
            item = shown[(views.OUTCOME_NAMES[scored.outcome], label)]
            assert item.log_loss == f"{scored.driver_log_loss:.3f}" and item.forecasts == scored.forecasts
            assert [bin.forecasts for bin in item.bins] == [bin.count for bin in scored.bins]
            assert sum(bin.forecasts for bin in item.bins) == scored.forecasts
            # what calibrated forecasts would show: each bin's range, the bins outside it marked, the test's verdict
            assert [bin.calibrated_range for bin in item.bins] == [
                views.percent_range(bin.band_low, bin.band_high) for bin in scored.bins
            ]
            assert [bin.beyond_noise for bin in item.bins] == [
                not bin.band_low <= bin.observed_rate <= bin.band_high for bin in scored.bins
            ]
            beyond = scored.calibration_p_value is not None and scored.calibration_p_value < 0.05
            assert item.consistency.startswith("gaps beyond chance" if beyond else "gaps within chance")


def test_a_season_says_which_races_were_run_without_results_in_the_data(served):
    page = views.season(served, 2026, TODAY)
    calendar = served.table("calendar").filter(season=2026)
    overdue = calendar.filter((pl.col("status") == "scheduled") & (pl.col("date") < TODAY))
    assert overdue.height > 0
    missing = {race.round for race in page.races if race.winner == views.RESULTS_MISSING}
    assert missing == set(overdue["round"].to_list())


def test_the_accuracy_page_scores_the_title_odds_of_the_seasons_backtested(served):
    """The drivers' and constructors' title odds after every round of the past seasons, scored like every race
    chance: one forecast per contender and checkpoint, the bins' sizes shown, the numbers the API gives."""
    forecasts = served.table("title_forecasts")
    assert forecasts.height > 0
    page = views.accuracy(served)
    titles = {item.outcome: item for item in page.reliability if item.mode == views.TITLE_CHECKPOINTS}
    assert set(titles) == {"Drivers' title", "Constructors' title"}
    assert {item.caveat for item in page.reliability} == {views.TITLE_CAVEAT, ""}
    assert all(item.caveat == views.TITLE_CAVEAT for item in titles.values())
    for scored in queries.title_accuracy(served):
        item = titles[views.TITLE_NAMES[scored.outcome]]
        entity = scored.outcome.removeprefix("title_")
        assert item.forecasts == scored.forecasts == forecasts.filter(entity=entity).height
        assert sum(bin.forecasts for bin in item.bins) == scored.forecasts
        assert item.log_loss == f"{scored.driver_log_loss:.3f}"
        champions = forecasts.filter(entity=entity, won_title=True)
        assert sum(bin.count * bin.observed_rate for bin in scored.bins) == pytest.approx(champions.height)
