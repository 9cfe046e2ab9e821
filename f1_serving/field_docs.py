"""What every response field means, with an example, in one place: response models take their field descriptions
and examples from here by field name (`Documented`), so a field that several answers share (season, driver_id,
probability) is described once and the same way everywhere. A new field gets its line here; a test fails for any
field of the OpenAPI document without a description or an example."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

_PRECISION = (
    " Raw, not rounded: computed to within 1e-6 of the model's distribution, so a value within 1e-6 of 0 or 1 is not "
    "a certainty but a chance below that resolution"
)
_GATE_REASON = (
    "promoted: candidate 0.4713 vs champion 0.4802 over 252 races, both modes; no published outcome worse beyond "
    "paired noise"
)
FIELD_DOCS: dict[str, tuple[str, Any]] = {
    # accounts and tokens
    "id": ("the account's id (random, never reused)", "0b9f3c1e-5d2a-4c8e-9f6a-2e7d1c3b4a5f"),
    "email": ("the account's email in its canonical form (lower case, NFKC, domain in Unicode)", "ann@example.org"),
    "created_at": ("when the account was created (UTC)", "2026-09-10T10:00:00Z"),
    "access_token": ("the token to send as `Authorization: Bearer <token>`", "eyJhbGciOiJIUzI1NiIs..."),
    "token_type": ("always `bearer`", "bearer"),
    "expires_at": ("when the token stops working (UTC)", "2026-09-11T10:00:00Z"),
    "user": ("the account the token belongs to", None),
    # races
    "season": ("championship year", 2026),
    "round": ("the race's round in its season, from 1", 12),
    "race_name": ("the Grand Prix's name", "Dutch Grand Prix"),
    "date": ("race day (local date at the circuit)", "2026-08-23"),
    "starts_at": ("race start in UTC; null when the schedule gives no time", "2026-08-23T13:00:00Z"),
    "circuit_id": ("the circuit's Ergast id", "zandvoort"),
    "circuit_name": ("the circuit's name", "Circuit Park Zandvoort"),
    "locality": ("the town or city of the circuit", "Zandvoort"),
    "country": ("the circuit's country", "Netherlands"),
    "qualifying_date": ("qualifying day; null when unknown", "2026-08-22"),
    "sprint_date": ("sprint day; null without a sprint", "2026-08-22"),
    "has_sprint": ("whether the weekend has a sprint race", True),
    "is_next": ("the first race without results: the one the next-race predictions are for", False),
    "winner_driver_id": ("the winner's driver id; null until the race has a winner", "norris"),
    "winner_name": ("the winner's name; null until the race has a winner", "Lando Norris"),
    # drivers, teams, results
    "driver_id": ("the driver's Ergast id", "max_verstappen"),
    "driver_name": ("the driver's full name", "Max Verstappen"),
    "driver_code": ("the driver's three-letter code; null for early drivers", "VER"),
    "constructor_id": ("the team's Ergast id", "red_bull"),
    "constructor_name": ("the team's name", "Red Bull"),
    "grid": ("starting position (0: pit lane)", 3),
    "finish_position": ("classified position; null when not classified (or the race is not run yet)", 1),
    "position_text": ("the position as published: a number, or R (retired), D (disqualified), ...", "1"),
    "laps": ("laps completed", 52),
    "won": ("whether the driver won the race; null before the race", True),
    # predictions
    "rank": ("1 = the most likely winner of the race", 1),
    "probability": (
        "the champion model's probability that the driver wins, from 0 to 1; raw (not rounded): the model's own "
        "number to float precision",
        0.3125,
    ),
    "mode": ("pre_qualifying (before the grid is known) or post_qualifying (with the grid)", "post_qualifying"),
    "model_name": ("the registered model's name", "f1-race-winner"),
    "model_version": ("the registered version that made the predictions", "7"),
    "snapshot_id": ("the publication snapshot the answer was read from", "20260910T061502Z-b2ef0f55"),
    "walk_forward": ("true: made by a model trained only on races before this one", True),
    "predictions": ("every entrant, most likely winner first", None),
    "win_pct": ("`probability` as a percentage, rounded to one decimal", 31.3),
    "podium_probability": (
        "probability that the driver is classified in the top 3, from 0 to 1, retirements included." + _PRECISION,
        0.6712,
    ),
    "podium_pct": ("`podium_probability` as a percentage, rounded to one decimal", 67.1),
    "top6_probability": (
        "probability that the driver is classified in the top 6, from 0 to 1, retirements included." + _PRECISION,
        0.8841,
    ),
    "top6_pct": ("`top6_probability` as a percentage, rounded to one decimal", 88.4),
    "points_probability": (
        "probability that the driver is classified in a points-paying place of that season (top 10 since 2010), "
        "retirements included." + _PRECISION,
        0.8502,
    ),
    "points_pct": ("`points_probability` as a percentage, rounded to one decimal", 85.0),
    "not_classified_probability": (
        "probability that the driver is not classified (retires, is disqualified or does not start), from the "
        "reliability model, from 0 to 1." + _PRECISION,
        0.14,
    ),
    "not_classified_pct": ("`not_classified_probability` as a percentage, rounded to one decimal", 14.0),
    "expected_position": (
        "expected finishing place (1 = winner); a car not classified counts behind every classified car, sharing "
        "the places left",
        3.2,
    ),
    "teammate_ahead_probability": (
        "probability that the driver is classified ahead of every classified teammate (a teammate not classified "
        "counts as beaten); null without a teammate." + _PRECISION,
        0.64,
    ),
    "teammate_ahead_pct": ("`teammate_ahead_probability` as a percentage, one decimal; null without a teammate", 64.0),
    "team_win_probability": ("probability that one of the driver's team's cars wins: the constructors' P(win)", 0.52),
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
    "timezone": ("the circuit's IANA time zone; null when its coordinates are unknown", "Europe/Amsterdam"),
    "local_starts_at": (
        "race start in the circuit's local time, with its UTC offset; null without a time",
        "2026-08-23T15:00:00+02:00",
    ),
    # championship
    "after_round": ("the last completed round the standings include", 11),
    "entity": ("driver or constructor: which championship", "driver"),
    "points_now": ("championship points after `after_round` (races and sprints)", 296.0),
    "title_probability": ("share of simulated seasons the driver or team ends as world champion, from 0 to 1", 0.613),
    "title_pct": ("`title_probability` as a percentage, rounded to one decimal", 61.3),
    "expected_points": ("mean final points over the simulated rest of the season", 402.5),
    # accuracy
    "log_loss": ("mean negative log of the probability given to the winner (lower is better)", 1.52),
    "brier": ("mean Brier score of the win probabilities over the field (lower is better)", 0.041),
    "correct_winner": ("whether the favourite won", True),
    "winner_in_top3": ("whether the winner was among the three favourites", True),
    "winner_probability": ("the probability the model gave the actual winner", 0.41),
    "field_size": ("drivers in the race", 20),
    "correct_winner_rate": ("share of races the favourite won", 0.55),
    "outcomes": (
        "every published chance scored as a yes/no forecast per driver and race, over the races of the answer: win, "
        "podium, top6, points, not_classified, teammate (ahead of every teammate)",
        None,
    ),
    "outcome": ("which chance: win, podium, top6, points, not_classified or teammate", "points"),
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
    "wins": ("races won in the season", 4),
    "podiums": ("top-3 finishes in the season (a team counts each of its cars)", 9),
    "points": ("points scored in the season, race plus sprint", 250.5),
    "elo": ("ELO rating after the season's last race; null without a rating", 1612.4),
    "elo_rank": ("1 = highest rating in the season; null without a rating", 1),
    "points_rank": ("1 = most points in the season; ties broken by wins, then by id", 1),
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
            "reason": _GATE_REASON,
        },
    ),
    "decided_at": ("when the decision was taken (UTC)", "2026-09-10T06:12:00Z"),
    "action": (
        "promotion (the registry gate's), manual_promotion (an operator's, over the gate) or rollback",
        "promotion",
    ),
    "previous_champion_version": ("the champion before the decision; null for the first", "6"),
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
    "reason": ("the decision in words, as the registry's version description ends", _GATE_REASON),
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
