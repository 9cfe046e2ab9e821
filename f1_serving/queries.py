"""Answers read from the served tables: the one module that knows the published columns.

Plain functions of a `Served` (polars frames and the champion) returning response models, so they are tested
without a server. A question the data cannot answer raises `ApiError` with a 404 that says why.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from f1_serving.errors import ApiError
from f1_serving.schemas import (
    AccuracySummary,
    Calendar,
    DriverPrediction,
    DriverRanking,
    DriverRankings,
    Mode,
    Race,
    RaceAccuracy,
    RacePredictions,
    SeasonAccuracy,
    SeasonAccuracyDetail,
    TeamRanking,
    TeamRankings,
)
from f1_serving.serving_state import Served

RankingSort = Literal["points", "elo", "wins"]
_RANK_COLUMNS = {"points": "points_rank", "elo": "elo_rank"}


def _race_predictions(served: Served, rows: pl.DataFrame, mode: Mode, walk_forward: bool) -> RacePredictions:
    first = rows.row(0, named=True)
    return RacePredictions(
        season=first["season"],
        round=first["round"],
        race_name=first["race_name"],
        date=first["date"],
        circuit_id=first["circuit_id"],
        mode=mode,
        model_name=first.get("model_name") or served.champion.name,
        model_version=str(first["model_version"]),
        snapshot_id=served.publication.manifest.snapshot_id,
        walk_forward=walk_forward,
        predictions=[DriverPrediction.model_validate(row) for row in rows.sort("rank").iter_rows(named=True)],
    )


def _best_mode(rows: pl.DataFrame, mode: Mode | None) -> Mode:
    """The mode asked for, or the most informed one the data has (post-qualifying once the grid is known)."""
    if mode is not None:
        return mode
    return "post_qualifying" if (rows["mode"] == "post_qualifying").any() else "pre_qualifying"


def next_race(served: Served, mode: Mode | None) -> RacePredictions:
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
    return _race_predictions(served, picked, chosen, walk_forward=True)


def race(served: Served, season: int, round_: int, mode: Mode | None) -> RacePredictions:
    """A past race: the champion's walk-forward prediction; the next race: its current prediction."""
    _known_race(served, season, round_)
    upcoming = served.next_race.filter((pl.col("season") == season) & (pl.col("round") == round_))
    if not upcoming.is_empty():
        return next_race(served, mode)
    rows = served.table("race_predictions").filter((pl.col("season") == season) & (pl.col("round") == round_))
    if rows.is_empty():
        seasons = served.table("race_predictions")["season"]
        window = f"{seasons.min()}-{seasons.max()}" if len(seasons) else "none"
        raise ApiError(
            404,
            "predictions_not_available",
            f"no walk-forward predictions for {season} round {round_}: the backtest covers seasons {window}",
        )
    chosen = _best_mode(rows, mode)
    return _race_predictions(served, rows.filter(pl.col("mode") == chosen), chosen, walk_forward=True)


def _known_race(served: Served, season: int, round_: int) -> None:
    calendar = served.table("calendar")
    if calendar.filter((pl.col("season") == season) & (pl.col("round") == round_)).is_empty():
        raise ApiError(404, "race_not_found", f"there is no round {round_} in the {season} calendar")


def calendar(served: Served, season: int) -> Calendar:
    races = served.table("calendar").filter(pl.col("season") == season).sort("round")
    if races.is_empty():
        raise ApiError(404, "season_not_found", f"no calendar for {season}: {_season_span(served, 'calendar')}")
    return Calendar(season=season, races=[Race.model_validate(row) for row in races.iter_rows(named=True)])


def _season_span(served: Served, table: str) -> str:
    seasons = served.table(table)["season"]
    return f"the data covers {seasons.min()}-{seasons.max()}" if len(seasons) else "the table is empty"


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


def accuracy_summary(served: Served, mode: Mode) -> AccuracySummary:
    accuracy = _accuracy(served, mode)
    return AccuracySummary(
        mode=mode,
        model_version=_accuracy_version(served, accuracy),
        seasons=[SeasonAccuracy.model_validate(row) for row in _season_summaries(accuracy).iter_rows(named=True)],
    )


def _accuracy_version(served: Served, accuracy: pl.DataFrame) -> str:
    return str(accuracy["model_version"][0]) if accuracy.height else served.publication.manifest.model_version


def season_accuracy(served: Served, season: int, mode: Mode) -> SeasonAccuracyDetail:
    accuracy = _accuracy(served, mode).filter(pl.col("season") == season).sort("round")
    if accuracy.is_empty():
        raise ApiError(
            404, "season_not_found", f"no scored races in {season}: {_season_span(served, 'prediction_accuracy')}"
        )
    summary = _season_summaries(accuracy).row(0, named=True)
    return SeasonAccuracyDetail(
        **summary,
        mode=mode,
        model_version=_accuracy_version(served, accuracy),
        race_breakdown=[RaceAccuracy.model_validate(row) for row in accuracy.iter_rows(named=True)],
    )


def _rankings(served: Served, table: str, season: int | None, sort: RankingSort, limit: int) -> pl.DataFrame:
    rows = served.table(table)
    chosen = season if season is not None else rows["season"].max()
    rows = rows.filter(pl.col("season") == chosen)
    if rows.is_empty():
        raise ApiError(404, "season_not_found", f"no rankings for {chosen}: {_season_span(served, table)}")
    if sort == "wins":
        ordered = rows.sort(["wins", "points_rank"], descending=[True, False])
    else:
        ordered = rows.sort(_RANK_COLUMNS[sort], nulls_last=True)
    return ordered.head(limit)


def driver_rankings(served: Served, season: int | None, sort: RankingSort, limit: int) -> DriverRankings:
    rows = _rankings(served, "driver_rankings", season, sort, limit)
    return DriverRankings(
        season=rows["season"][0],
        sort=sort,
        drivers=[DriverRanking.model_validate(row) for row in rows.iter_rows(named=True)],
    )


def team_rankings(served: Served, season: int | None, sort: RankingSort, limit: int) -> TeamRankings:
    rows = _rankings(served, "team_rankings", season, sort, limit)
    return TeamRankings(
        season=rows["season"][0],
        sort=sort,
        teams=[TeamRanking.model_validate(row) for row in rows.iter_rows(named=True)],
    )
