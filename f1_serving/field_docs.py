"""What every response field means, with an example, in one place: response models take their field descriptions
and examples from here by field name (`Documented`), so a field that several answers share (season, driver_id,
probability) is described once and the same way everywhere. A field that is a published column (season, probability,
title_probability, ...) takes its words and example from the column's declaration (`serving_tables.CONTRACTS`); a
field of the API's own gets its line in `_API_FIELDS`. A test fails for any field of the OpenAPI document without a
description or an example."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from f1_pipeline.contracts import field_docs
from f1_pipeline.serving_tables import CONTRACTS

PUBLISHED_FIELDS = field_docs(
    CONTRACTS, choose={"points": "driver_rankings", "elo": "driver_rankings", "entity": "championship_odds"}
)
"""The published columns by name; where tables mean different things by one name, the API's answers carry the
chosen table's (season points and ratings of the rankings, the championship of the title odds)."""
OWN_MEANING = frozenset(
    {"id", "name", "action", "candidate_log_loss", "champion_log_loss", "deciding_outcomes", "top_contributions"}
)
"""Published column names the API's answers use for something else: an account's id and a model's name, the
decision seen from the version it made champion, the deciding outcomes as a list, the contributions as objects."""
_API_FIELDS: dict[str, tuple[str, Any]] = {
    # accounts and tokens
    "id": ("the account's id (random, never reused)", "0b9f3c1e-5d2a-4c8e-9f6a-2e7d1c3b4a5f"),
    "email": ("the account's email in its canonical form (lower case, NFKC, domain in Unicode)", "ann@example.org"),
    "created_at": ("when the account was created (UTC)", "2026-09-10T10:00:00Z"),
    "access_token": ("the token to send as `Authorization: Bearer <token>`", "eyJhbGciOiJIUzI1NiIs..."),
    "token_type": ("always `bearer`", "bearer"),
    "expires_at": ("when the token stops working (UTC)", "2026-09-11T10:00:00Z"),
    "user": ("the account the token belongs to", None),
    # predictions
    "snapshot_id": ("the publication snapshot the answer was read from", "20260910T061502Z-b2ef0f55"),
    "walk_forward": ("true: made by a model trained only on races before this one", True),
    "predictions": ("every entrant, most likely winner first", None),
    "win_pct": ("`probability` as a percentage, rounded to one decimal", 31.3),
    "podium_pct": ("`podium_probability` as a percentage, rounded to one decimal", 67.1),
    "top6_pct": ("`top6_probability` as a percentage, rounded to one decimal", 88.4),
    "points_pct": ("`points_probability` as a percentage, rounded to one decimal", 85.0),
    "not_classified_pct": ("`not_classified_probability` as a percentage, rounded to one decimal", 14.0),
    "teammate_ahead_pct": ("`teammate_ahead_probability` as a percentage, one decimal; null without a teammate", 64.0),
    "team_win_pct": ("`team_win_probability` as a percentage, rounded to one decimal", 52.0),
    "top_contributions": (
        "the features that moved the driver's score most against the race's average driver, largest first "
        "(positive: raised his chance); null when the model cannot say",
        [{"feature": "elo_driver", "contribution": 0.4123}, {"feature": "grid", "contribution": -0.2051}],
    ),
    "feature": ("a model input (feature) name", "elo_driver"),
    "contribution": (
        "the feature's part in the driver's score against the race's average driver, in the model's score units "
        "(log-odds for the linear estimators and XGBoost); positive raised his chance",
        0.4123,
    ),
    # freshness and venue
    "data_through": (
        "the last race with results in the data; null when none has any",
        {"season": 2026, "round": 11, "race_name": "Hungarian Grand Prix", "date": "2026-07-26"},
    ),
    "stale": ("true when the calendar lists races held before today that have no results in the data", True),
    "stale_reason": (
        "why the data is older than the calendar says it should be; null when it is not",
        "the calendar lists 2 races held after the Hungarian Grand Prix, 26 July 2026 without results in the data "
        "(the latest: Italian Grand Prix, 6 September 2026); the predictions are for the first race without results, "
        "which has already been run",
    ),
    "local_starts_at": (
        "race start in the circuit's local time, with its UTC offset; null without a time",
        "2026-08-23T15:00:00+02:00",
    ),
    # championship
    "title_pct": ("`title_probability` as a percentage, rounded to one decimal", 61.3),
    # accuracy
    "correct_winner_rate": ("share of races the favourite won", 0.55),
    "outcomes": (
        "every published chance scored as a yes/no forecast per driver and race, over the races of the answer: win, "
        "podium, top6, points, not_classified, teammate (ahead of every teammate)",
        None,
    ),
    "title_outcomes": (
        "the title odds of the past seasons backtested (after every round from the third to the second-to-last, every "
        "driver and team, as the published simulation would have given them then) scored against who became "
        "champion, the same way: title_driver and title_constructor; empty before a season could be backtested. The "
        "rounds of one season share one outcome, so these forecasts are far from independent: calibration_p_value and "
        "the bins' bands, which take them to be, overstate the evidence",
        None,
    ),
    "outcome": (
        "which chance: win, podium, top6, points, not_classified, teammate; title_driver or title_constructor",
        "points",
    ),
    "forecasts": ("driver-race forecasts scored", 5106),
    "driver_log_loss": ("mean binary log loss per driver-race forecast (lower is better)", 0.46),
    "driver_brier": ("mean squared error per driver-race forecast (lower is better)", 0.15),
    "ece": (
        "expected calibration error: the forecast-weighted mean gap between forecast and observed rate over the bins",
        0.02,
    ),
    "bins": ("the reliability table: 10 equal-width probability bins, empty ones left out", None),
    "bin": ("the bin k holds forecasts with k/10 <= p < (k+1)/10 (p = 1 in bin 9)", 8),
    "count": ("forecasts in the bin", 613),
    "mean_probability": ("mean forecast in the bin", 0.858),
    "observed_rate": ("share of the bin's forecasts that came true", 0.829),
    "calibrated_spread": (
        "standard deviation of the observed rate if every forecast of the bin came true with its own probability",
        0.014,
    ),
    "band_low": ("lower end of the central 95% of the observed rates calibrated forecasts would give", 0.83),
    "band_high": ("upper end of the central 95% of the observed rates calibrated forecasts would give", 0.885),
    "calibration_p_value": (
        "chance that calibrated forecasts would show bin gaps at least this large (chi-squared over the bins); "
        "below 0.05 the gaps are more than noise; null when no bin can vary",
        0.003,
    ),
    "winner_in_top3_rate": ("share of races whose winner was among the three favourites", 0.85),
    "seasons": ("one entry per season, oldest first", None),
    "race_breakdown": ("every scored race of the season, in round order", None),
    # rankings
    "sort": ("the order asked for: points, elo or wins", "points"),
    "drivers": ("the drivers, in the order asked for", None),
    "teams": ("the teams, in the order asked for", None),
    # the model
    "name": ("the registered model's name", "f1-race-winner"),
    "version": ("the champion's registered version", "7"),
    "alias": ("the registry alias resolved: always champion", "champion"),
    "run_id": ("the MLflow run that trained the version", "a9e0a7def4cf4e788848b97d06143244"),
    "trained_at": ("when its training run started (UTC)", "2026-09-10T05:40:00Z"),
    "registered_at": ("when the version was registered (UTC)", "2026-09-10T06:10:00Z"),
    "families": ("model family per prediction mode", {"pre_qualifying": "xgboost", "post_qualifying": "xgboost"}),
    "metrics": ("the training run's metrics (backtest log loss, Brier, ...)", {"evaluation_log_loss": 1.49}),
    "predictions_snapshot": ("the publication snapshot the API serves", "20261128T110631Z-b2ef0f55"),
    "published_by_version": ("the champion version whose predictions the pipeline published", "7"),
    "became_champion": (
        "the decision that last made this version the champion, as the pipeline published it; null when the "
        "published data holds none yet (a version promoted after the publication)",
        {
            "decided_at": "2026-09-10T06:12:00Z",
            "action": "promotion",
            "previous_champion_version": "6",
            "candidate_log_loss": 0.4713,
            "champion_log_loss": 0.4802,
            "deciding_outcomes": ["win"],
            "reason": PUBLISHED_FIELDS["reason"].example,
        },
    ),
    "action": (
        "promotion (the registry gate's), manual_promotion (an operator's, over the gate) or rollback",
        "promotion",
    ),
    "candidate_log_loss": (
        "this version's walk-forward winner log loss as the gate scored it; null when nothing was compared",
        0.4713,
    ),
    "champion_log_loss": (
        "the previous champion's on the same walk-forward races; null without one or when nothing was compared",
        0.4802,
    ),
    "deciding_outcomes": (
        "the published outcomes the gate's decision turned on (win: the winner log loss); empty for an operator's",
        ["win"],
    ),
    "degraded": ("sources that failed at the last refresh while older data is served; empty when all is well", []),
    # health
    "ready": ("true once a champion and published data are loaded", True),
    "refreshed_at": ("the last refresh that succeeded (UTC); a failed refresh leaves it", "2026-09-10T06:16:00Z"),
    "problems": (
        "per failed source, what is wrong (in general terms; operators get the details)",
        {"registry-unavailable": "the model registry cannot be read or names no usable champion"},
    ),
    # errors
    "error": ("what went wrong, for a person", "the access token is invalid or expired"),
    "error_code": ("what went wrong, for a program", "invalid_token"),
}


def _field_docs() -> dict[str, tuple[str, Any]]:
    """Every field's words and example: the published columns', then the API's own; the API redefines a published
    name only where it means something else by it (`OWN_MEANING`), so a column is described once."""
    redefined = set(_API_FIELDS) & set(PUBLISHED_FIELDS)
    if redefined != OWN_MEANING:
        raise ValueError(
            f"published columns described again by the API: {sorted(redefined - OWN_MEANING)}; "
            f"declared as the API's own but not published: {sorted(OWN_MEANING - redefined)}"
        )
    return {name: (column.description, column.example) for name, column in PUBLISHED_FIELDS.items()} | _API_FIELDS


FIELD_DOCS = _field_docs()


def _describe(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name, field in schema.get("properties", {}).items():
        description, example = FIELD_DOCS.get(name, (None, None))
        if description is not None:
            field.setdefault("description", description)
        if example is not None and "$ref" not in field:
            field.setdefault("examples", [example])


class Documented(BaseModel):
    """A response model whose fields take their descriptions and examples from `FIELD_DOCS`."""

    model_config = ConfigDict(json_schema_extra=_describe)
