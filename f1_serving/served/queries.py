"""Answers read from the served tables: the one module that knows the published columns.

Plain functions of a `Served` (polars frames and the champion) returning response models, so they are tested
without a server. A question the data cannot answer raises `ApiError` with a 404 that says why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from f1_pipeline.modeling.metrics import forecast_calibration, forecast_scores, outcome_rows
from f1_pipeline.modeling.title_forecasts import title_forecast_rows
from f1_pipeline.serving_tables import TITLE_ORDER
from f1_serving.errors import ApiError
from f1_serving.freshness import freshness as data_freshness
from f1_serving.schemas import (
    AccuracySummary,
    Calendar,
    ChampionDecision,
    ChampionshipOdds,
    DataThrough,
    DriverPrediction,
    DriverRanking,
    DriverRankings,
    FreshnessFields,
    Mode,
    NextRacePredictions,
    OutcomeAccuracy,
    Race,
    RaceAccuracy,
    RacePredictions,
    SeasonAccuracy,
    SeasonAccuracyDetail,
    TeamRanking,
    TeamRankings,
    TitleOdds,
    TitleOddsAfterRound,
    TitleOddsHistory,
    UpcomingDriverPrediction,
    UpcomingRace,
)
from f1_serving.served.serving_state import Served

RankingSort = Literal["points", "elo", "wins"]
_RANK_COLUMNS = {"points": "points_rank", "elo": "elo_rank"}
PERCENTAGES = {
    "probability": "win_pct",
    "podium_probability": "podium_pct",
    "top6_probability": "top6_pct",
    "points_probability": "points_pct",
    "not_classified_probability": "not_classified_pct",
    "teammate_ahead_probability": "teammate_ahead_pct",
    "team_win_probability": "team_win_pct",
}
"""Each published probability and the field that gives it as a percentage for people."""


def percentage(probability: float | None) -> float | None:
    """A probability as a percentage with one decimal (0.3421 -> 34.2): what a person reads."""
    return None if probability is None else round(100 * probability, 1)


def _with_percentages(row: dict[str, Any]) -> dict[str, Any]:
    return row | {pct: percentage(row.get(column)) for column, pct in PERCENTAGES.items()}


def _contributions(row: dict[str, Any]) -> dict[str, Any]:
    """The published JSON text of the top contributions as the list it holds (None when the model could not say)."""
    text = row.get("top_contributions")
    return row | {"top_contributions": None if text is None else json.loads(text)}


def _local(starts_at: datetime | None, timezone: str | None) -> datetime | None:
    if starts_at is None or timezone is None:
        return None
    try:
        return starts_at.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _venue(served: Served, season: int, round_: int) -> dict[str, Any]:
    """The race's calendar entry: circuit name and place, time zone, and the start in UTC and in local time."""
    rows = served.table("calendar").filter((pl.col("season") == season) & (pl.col("round") == round_))
    if rows.is_empty():
        return {}
    race = rows.row(0, named=True)
    return race | {"local_starts_at": _local(race["starts_at"], race["timezone"])}


def _race_header(served: Served, rows: pl.DataFrame, mode: Mode) -> dict[str, Any]:
    first = rows.row(0, named=True)
    return {
        **first,
        **_venue(served, first["season"], first["round"]),
        "mode": mode,
        "model_name": first.get("model_name") or served.champion.name,
        "model_version": str(first["model_version"]),
        "snapshot_id": served.publication.manifest.snapshot_id,
        "walk_forward": True,
    }


def freshness(calendar: pl.DataFrame, today: date) -> FreshnessFields:
    """The last race with results, and whether races the calendar dates before `today` still have none (the rule of
    `f1_serving.freshness`, which the dashboard and the command say too)."""
    found = data_freshness(calendar, today)
    through = None if found.last is None else DataThrough.model_validate(found.last)
    return FreshnessFields(data_through=through, stale=found.stale, stale_reason=found.reason)


def _fresh(served: Served, today: date) -> dict[str, Any]:
    return dict(freshness(served.table("calendar"), today))


def _best_mode(rows: pl.DataFrame, mode: Mode | None) -> Mode:
    """The mode asked for, or the most informed one the data has (post-qualifying once the grid is known)."""
    if mode is not None:
        return mode
    return "post_qualifying" if (rows["mode"] == "post_qualifying").any() else "pre_qualifying"


def next_race(served: Served, mode: Mode | None, today: date) -> NextRacePredictions:
    rows = served.next_race
    if rows.is_empty():
        raise ApiError(404, "no_next_race", "every scheduled race has results: there is no next race to predict")
    chosen = _best_mode(rows, mode)
    picked = rows.filter(pl.col("mode") == chosen)
    if picked.is_empty():
        raise ApiError(
            404,
            "predictions_not_available",
            f"{chosen} predictions for the next race need its qualifying results, which are not in yet",
        )
    ranked = picked.sort("rank").iter_rows(named=True)
    return NextRacePredictions(
        **_race_header(served, picked, chosen),
        **_fresh(served, today),
        predictions=[UpcomingDriverPrediction.model_validate(_contributions(_with_percentages(row))) for row in ranked],
    )


def race(
    served: Served, season: int, round_: int, mode: Mode | None, today: date
) -> RacePredictions | NextRacePredictions:
    """A past race: the champion's walk-forward prediction; the next race: its current prediction."""
    _known_race(served, season, round_)
    upcoming = served.next_race.filter((pl.col("season") == season) & (pl.col("round") == round_))
    if not upcoming.is_empty():
        return next_race(served, mode, today)
    rows = served.table("race_predictions").filter((pl.col("season") == season) & (pl.col("round") == round_))
    if rows.is_empty():
        seasons = served.table("race_predictions")["season"]
        window = f"{seasons.min()!s}-{seasons.max()!s}" if len(seasons) else "none"
        raise ApiError(
            404,
            "predictions_not_available",
            f"no walk-forward predictions for {season} round {round_}: the backtest covers seasons {window}",
        )
    chosen = _best_mode(rows, mode)
    picked = rows.filter(pl.col("mode") == chosen)
    return RacePredictions(
        **_race_header(served, picked, chosen),
        **_fresh(served, today),
        predictions=[
            DriverPrediction.model_validate(_with_percentages(row)) for row in picked.sort("rank").iter_rows(named=True)
        ],
    )


def _known_race(served: Served, season: int, round_: int) -> None:
    calendar = served.table("calendar")
    if calendar.filter((pl.col("season") == season) & (pl.col("round") == round_)).is_empty():
        raise ApiError(404, "race_not_found", f"there is no round {round_} in the {season} calendar")


def calendar(served: Served, season: int, today: date) -> Calendar:
    """The season's races; one without results carries no winner fields."""
    every = served.table("calendar")
    races = every.filter(pl.col("season") == season).sort("round")
    if races.is_empty():
        raise ApiError(404, "season_not_found", f"no calendar for {season}: {_season_span(served, 'calendar')}")
    return Calendar(
        season=season,
        **_fresh(served, today),
        races=[_calendar_race(row) for row in races.iter_rows(named=True)],
    )


def _calendar_race(row: Mapping[str, Any]) -> Race | UpcomingRace:
    entry = {**row, "local_starts_at": _local(row["starts_at"], row["timezone"])}
    return Race.model_validate(entry) if row["status"] == "completed" else UpcomingRace.model_validate(entry)


def championship(served: Served, today: date) -> ChampionshipOdds:
    """The current season's title odds as the pipeline simulated them, each championship ordered as every title table
    is: chance, then expected points, then name."""
    odds = served.table("championship_odds")
    if odds.is_empty():
        raise ApiError(404, "championship_not_available", "no title odds are published: the season has no next race")
    first = odds.row(0, named=True)

    def entries(entity: str) -> list[TitleOdds]:
        rows = odds.filter(pl.col("entity") == entity).sort(
            *TITLE_ORDER[0], "id", descending=[*TITLE_ORDER[1], False], nulls_last=True
        )
        return [
            TitleOdds.model_validate(row | {"rank": rank, "title_pct": percentage(row["title_probability"])})
            for rank, row in enumerate(rows.iter_rows(named=True), start=1)
        ]

    return ChampionshipOdds(
        season=first["season"],
        after_round=first["after_round"],
        snapshot_id=served.publication.manifest.snapshot_id,
        **_fresh(served, today),
        drivers=entries("driver"),
        constructors=entries("constructor"),
    )


def title_odds_history(served: Served, today: date) -> TitleOddsHistory:
    """The current season's title odds after every completed round, by round, each championship ordered as every
    title table is."""
    odds = served.table("title_odds_by_round")
    if odds.is_empty():
        raise ApiError(404, "championship_not_available", "no title odds by round are published")
    rows = odds.sort(
        "after_round",
        "entity",
        *TITLE_ORDER[0],
        "id",
        descending=[False, True, *TITLE_ORDER[1], False],
        nulls_last=True,
    )
    return TitleOddsHistory(
        season=int(rows["season"][0]),
        snapshot_id=served.publication.manifest.snapshot_id,
        **_fresh(served, today),
        odds=[
            TitleOddsAfterRound.model_validate(row | {"title_pct": percentage(row["title_probability"])})
            for row in rows.iter_rows(named=True)
        ],
    )


def _season_span(served: Served, table: str) -> str:
    seasons = served.table(table)["season"]
    return f"the data covers {seasons.min()!s}-{seasons.max()!s}" if len(seasons) else "the table is empty"


def _accuracy(served: Served, mode: Mode) -> pl.DataFrame:
    return served.table("prediction_accuracy").filter(pl.col("mode") == mode)


def _season_summaries(accuracy: pl.DataFrame) -> pl.DataFrame:
    return (
        accuracy.group_by("season")
        .agg(
            races=pl.len(),
            log_loss=pl.col("log_loss").mean(),
            brier=pl.col("brier").mean(),
            correct_winner_rate=pl.col("correct_winner").cast(pl.Float64).mean(),
            winner_in_top3_rate=pl.col("winner_in_top3").cast(pl.Float64).mean(),
        )
        .sort("season")
    )


def accuracy_summary(served: Served, mode: Mode, today: date) -> AccuracySummary:
    accuracy = _accuracy(served, mode)
    return AccuracySummary(
        **_fresh(served, today),
        mode=mode,
        model_version=_accuracy_version(served, accuracy),
        seasons=[SeasonAccuracy.model_validate(row) for row in _season_summaries(accuracy).iter_rows(named=True)],
        outcomes=outcome_accuracy(served, mode),
        title_outcomes=title_accuracy(served),
    )


def outcome_accuracy(served: Served, mode: Mode, season: int | None = None) -> list[OutcomeAccuracy]:
    """Every published chance of the walk-forward predictions scored against the results."""
    rows = served.table("race_predictions").filter((pl.col("mode") == mode) & pl.col("won").is_not_null())
    if season is not None:
        rows = rows.filter(pl.col("season") == season)
    return [] if rows.is_empty() else _scored(outcome_rows(rows, ()))


def title_accuracy(served: Served) -> list[OutcomeAccuracy]:
    """The title odds of the past seasons backtested (after every round from the third to the second-to-last, every
    contender, from the published simulation) scored against who became champion, with their reliability tables."""
    rows = title_forecast_rows(served.table("title_forecasts"))
    return [] if rows.is_empty() else _scored(rows)


def _scored(rows: pl.DataFrame) -> list[OutcomeAccuracy]:
    """Yes/no forecasts in long form scored per outcome, each with its reliability table (`modeling.metrics`, the
    numbers the pipeline's accuracy and the promotion gate use)."""
    bins = forecast_calibration(rows)
    return [
        OutcomeAccuracy.model_validate(
            score | {"bins": bins.filter(pl.col("outcome") == score["outcome"]).drop("outcome").to_dicts()}
        )
        for score in forecast_scores(rows).iter_rows(named=True)
    ]


def _accuracy_version(served: Served, accuracy: pl.DataFrame) -> str:
    return str(accuracy["model_version"][0]) if accuracy.height else served.publication.manifest.model_version


def season_accuracy(served: Served, season: int, mode: Mode, today: date) -> SeasonAccuracyDetail:
    accuracy = _accuracy(served, mode).filter(pl.col("season") == season).sort("round")
    if accuracy.is_empty():
        raise ApiError(
            404, "season_not_found", f"no scored races in {season}: {_season_span(served, 'prediction_accuracy')}"
        )
    summary = _season_summaries(accuracy).row(0, named=True)
    return SeasonAccuracyDetail(
        **summary,
        **_fresh(served, today),
        mode=mode,
        model_version=_accuracy_version(served, accuracy),
        race_breakdown=[RaceAccuracy.model_validate(row) for row in accuracy.iter_rows(named=True)],
        outcomes=outcome_accuracy(served, mode, season),
    )


def _rankings(served: Served, table: str, season: int | None, sort: RankingSort, limit: int) -> pl.DataFrame:
    rows = served.table(table)
    chosen = season if season is not None else rows["season"].max()
    rows = rows.filter(pl.col("season") == chosen)
    if rows.is_empty():
        raise ApiError(404, "season_not_found", f"no rankings for {chosen!s}: {_season_span(served, table)}")
    if sort == "wins":
        ordered = rows.sort(["wins", "points_rank"], descending=[True, False])
    else:
        ordered = rows.sort(_RANK_COLUMNS[sort], nulls_last=True)
    return ordered.head(limit)


def driver_rankings(served: Served, season: int | None, sort: RankingSort, limit: int, today: date) -> DriverRankings:
    rows = _rankings(served, "driver_rankings", season, sort, limit)
    return DriverRankings(
        **_fresh(served, today),
        season=rows["season"][0],
        sort=sort,
        drivers=[DriverRanking.model_validate(row) for row in rows.iter_rows(named=True)],
    )


def team_rankings(served: Served, season: int | None, sort: RankingSort, limit: int, today: date) -> TeamRankings:
    rows = _rankings(served, "team_rankings", season, sort, limit)
    return TeamRankings(
        **_fresh(served, today),
        season=rows["season"][0],
        sort=sort,
        teams=[TeamRanking.model_validate(row) for row in rows.iter_rows(named=True)],
    )


def champion_decision(served: Served) -> ChampionDecision | None:
    """The decision that last moved the champion alias onto the served champion (the registry gate's promotion, or
    an operator's promotion or rollback), from the published trail of `models.promotions`; None when the trail holds
    none (a version promoted after the data was published)."""
    moves = served.table("promotions").filter(
        (pl.col("resulting_champion_version") == served.champion.version) & (pl.col("action") != "refusal")
    )
    if moves.is_empty():
        return None
    row = moves.sort("decided_at").row(-1, named=True)
    outcomes = row.pop("deciding_outcomes")
    return ChampionDecision.model_validate({**row, "deciding_outcomes": outcomes.split(",") if outcomes else []})
