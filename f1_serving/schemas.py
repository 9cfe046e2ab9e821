"""Request and response bodies: every response the API sends has a model here, so the OpenAPI document is complete.

Requests are separate models from responses; request fields carry their own limits (lengths, ranges), so bad input
is refused with a 422 before any code runs.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from datetime import date as datetime_date  # the type, where a field named `date` hides it
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from f1_serving.accounts.emails import NO_CONTROL_CHARACTERS, canonical_email, login_email
from f1_serving.field_docs import Documented

Mode = Literal["pre_qualifying", "post_qualifying"]
_PASSWORD_RULES = ((r"[a-z]", "a lower-case letter"), (r"[A-Z]", "an upper-case letter"), (r"[0-9]", "a digit"))
PASSWORD_PATTERN = r"^(?=[\s\S]*[a-z])(?=[\s\S]*[A-Z])(?=[\s\S]*[0-9])[\s\S]{8,128}$"
"""The same rules for the OpenAPI document, so clients (and fuzzers) know them; pydantic's regex engine has no
look-ahead, so the validator below enforces them with one message per missing rule."""


def _registrable_email(value: str) -> str:
    canonical = canonical_email(value)
    try:
        validate_email(canonical, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from error
    return canonical


_EMAIL_SCHEMA = {"pattern": NO_CONTROL_CHARACTERS}
LoginEmail = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        description="the address the account was registered with (compared in its canonical form, see below)",
        examples=["ann@example.org"],
        json_schema_extra=_EMAIL_SCHEMA,
    ),
    AfterValidator(login_email),
]
RegistrationEmail = Annotated[
    str,
    Field(
        min_length=3,
        max_length=320,
        description=(
            "a deliverable-looking address (no reserved domain such as .test or localhost); stored lower-cased, "
            "NFKC-normalised, with its domain in Unicode (punycode is accepted)"
        ),
        examples=["ann@example.org"],
        json_schema_extra={**_EMAIL_SCHEMA, "format": "email"},
    ),
    AfterValidator(_registrable_email),
]


class Credentials(BaseModel):
    """Login takes any email-like string: one that could never register simply does not match (a 401). Control
    characters are refused (a 422): no address contains them."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ann@example.org", "password": "Sup3rSecret"}]}
    )

    email: LoginEmail
    password: str = Field(min_length=1, max_length=128, description="the account's password", examples=["Sup3rSecret"])


class PasswordGrant(BaseModel):
    """The OAuth2 password grant's form fields; `username` is the account's email."""

    grant_type: Literal["password"] | None = Field(
        None, description="`password` when sent (OAuth2 clients send it)", examples=["password"]
    )
    username: LoginEmail
    password: str = Field(min_length=1, max_length=128, description="the account's password", examples=["Sup3rSecret"])
    scope: str = Field(
        "", max_length=200, description="ignored: a token grants everything its account may do", examples=[""]
    )


class Registration(BaseModel):
    """An address email-validator accepts (so not a reserved domain such as `.test` or `localhost`)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ann@example.org", "password": "Sup3rSecret"}]}
    )

    email: RegistrationEmail
    password: str = Field(
        min_length=8,
        max_length=128,
        description="8+ characters with an upper-case letter, a lower-case one and a digit",
        examples=["Sup3rSecret"],
        json_schema_extra={"pattern": PASSWORD_PATTERN},
    )

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, password: str) -> str:
        missing = [rule for pattern, rule in _PASSWORD_RULES if not re.search(pattern, password)]
        if missing:
            raise ValueError(f"the password needs {', '.join(missing)}")
        return password


class UserPublic(Documented):
    id: uuid.UUID
    email: str
    created_at: datetime


class Token(Documented):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserPublic


class FeatureContribution(Documented):
    feature: str
    contribution: float


class DriverChances(Documented):
    """One entrant's chances, each probability also as a percentage with one decimal."""

    rank: int
    driver_id: str
    driver_name: str | None
    driver_code: str | None
    constructor_id: str | None
    constructor_name: str | None
    probability: float = Field(ge=0, le=1)
    win_pct: float = Field(ge=0, le=100)
    podium_probability: float = Field(ge=0, le=1)
    podium_pct: float = Field(ge=0, le=100)
    top6_probability: float = Field(ge=0, le=1)
    top6_pct: float = Field(ge=0, le=100)
    points_probability: float = Field(ge=0, le=1)
    points_pct: float = Field(ge=0, le=100)
    not_classified_probability: float = Field(ge=0, le=1)
    not_classified_pct: float = Field(ge=0, le=100)
    expected_position: float = Field(ge=1)
    teammate_ahead_probability: float | None = Field(ge=0, le=1)
    teammate_ahead_pct: float | None = Field(ge=0, le=100)
    team_win_probability: float = Field(ge=0, le=1)
    team_win_pct: float = Field(ge=0, le=100)


class UpcomingDriverPrediction(DriverChances):
    """An entrant of a race not yet run: no result fields (`won`, `finish_position`) at all."""

    top_contributions: list[FeatureContribution] | None


class DriverPrediction(DriverChances):
    """An entrant of a race already run, with what happened."""

    won: bool | None
    finish_position: int | None


class DataThrough(Documented):
    season: int
    round: int
    race_name: str
    date: date


class FreshnessFields(Documented):
    """What every answer built on published data says of its age (`f1_serving.freshness`'s rule, as fields)."""

    data_through: DataThrough | None
    stale: bool
    stale_reason: str | None


class RaceVenue(Documented):
    season: int
    round: int
    race_name: str | None
    date: date | None
    circuit_id: str | None
    circuit_name: str | None
    locality: str | None
    country: str | None
    timezone: str | None
    starts_at: datetime | None
    local_starts_at: datetime | None


class _PredictedRace(RaceVenue):
    mode: Mode
    model_name: str
    model_version: str
    snapshot_id: str
    walk_forward: bool
    trouble_share: float = Field(ge=0, le=1)


class RacePredictions(FreshnessFields, _PredictedRace):
    """A race already run: the champion's walk-forward prediction beside the result, and how fresh the data is."""

    predictions: list[DriverPrediction]


class NextRacePredictions(FreshnessFields, _PredictedRace):
    """The next race: its predictions, why (the top contributions), and how fresh the data behind them is."""

    predictions: list[UpcomingDriverPrediction]


class _RaceBase(Documented):
    season: int
    round: int
    race_name: str
    date: date | None
    starts_at: datetime | None
    local_starts_at: datetime | None
    circuit_id: str | None
    circuit_name: str | None
    locality: str | None
    country: str | None
    timezone: str | None
    qualifying_date: datetime_date | None
    sprint_date: datetime_date | None
    has_sprint: bool
    status: str = Field(description="the race's state in the schedule", examples=["completed"])
    is_next: bool


class UpcomingRace(_RaceBase):
    """A race without results yet: no winner fields at all."""


class Race(_RaceBase):
    """A race with results."""

    winner_driver_id: str | None
    winner_name: str | None


class Calendar(FreshnessFields):
    season: int
    races: list[Race | UpcomingRace] = Field(
        description="every race of the season, in round order; a race without results has no winner fields"
    )


class RaceAccuracy(Documented):
    season: int
    round: int
    race_name: str | None
    date: date | None
    log_loss: float
    brier: float
    correct_winner: bool
    winner_in_top3: bool
    winner_probability: float
    field_size: int


class SeasonAccuracy(Documented):
    season: int
    races: int = Field(description="races scored in the season", examples=[24])
    log_loss: float
    brier: float
    correct_winner_rate: float
    winner_in_top3_rate: float


class CalibrationBin(Documented):
    bin: int = Field(ge=0, le=9)
    count: int = Field(ge=1)
    mean_probability: float = Field(ge=0, le=1)
    observed_rate: float = Field(ge=0, le=1)
    calibrated_spread: float = Field(ge=0)
    band_low: float = Field(ge=0, le=1)
    band_high: float = Field(ge=0, le=1)


class OutcomeAccuracy(Documented):
    outcome: Literal[
        "win", "podium", "top6", "points", "not_classified", "teammate", "title_driver", "title_constructor"
    ]
    forecasts: int
    driver_log_loss: float
    driver_brier: float
    ece: float
    calibration_p_value: float | None = Field(ge=0, le=1)
    bins: list[CalibrationBin]


class AccuracySummary(FreshnessFields):
    mode: Mode
    model_version: str
    seasons: list[SeasonAccuracy]
    outcomes: list[OutcomeAccuracy]
    title_outcomes: list[OutcomeAccuracy]


class SeasonAccuracyDetail(FreshnessFields, SeasonAccuracy):
    mode: Mode
    model_version: str
    race_breakdown: list[RaceAccuracy]
    outcomes: list[OutcomeAccuracy]


class DriverRanking(Documented):
    season: int
    driver_id: str
    driver_name: str | None
    driver_code: str | None
    constructor_name: str | None
    races: int = Field(description="races entered in the season", examples=[24])
    wins: int
    podiums: int
    points: float
    elo: float | None
    elo_rank: int | None
    points_rank: int


class TeamRanking(Documented):
    season: int
    constructor_id: str
    constructor_name: str | None
    races: int = Field(description="races entered in the season", examples=[24])
    wins: int
    podiums: int
    points: float
    elo: float | None
    elo_rank: int | None
    points_rank: int


class DriverRankings(FreshnessFields):
    season: int
    sort: str
    drivers: list[DriverRanking]


class TeamRankings(FreshnessFields):
    season: int
    sort: str
    teams: list[TeamRanking]


class PredictionExportRow(Documented):
    season: int
    round: int
    race_name: str | None
    mode: Mode
    driver_id: str
    driver_name: str | None
    constructor_name: str | None
    probability: float
    podium_probability: float
    top6_probability: float
    points_probability: float
    not_classified_probability: float
    expected_position: float
    teammate_ahead_probability: float | None
    team_win_probability: float
    rank: int
    won: bool | None
    finish_position: int | None
    model_version: str


class TitleOdds(Documented):
    rank: int = Field(description="1 = the most likely world champion", examples=[1])
    id: str = Field(description="the driver's or the team's Ergast id", examples=["norris"])
    name: str | None = Field(description="the driver's or the team's name", examples=["Lando Norris"])
    points_now: float
    title_probability: float = Field(ge=0, le=1)
    title_pct: float = Field(ge=0, le=100)
    expected_points: float
    title_decided: bool = False


class ChampionshipOdds(FreshnessFields):
    """The title odds after the last round with results, and how fresh the data behind them is."""

    season: int
    after_round: int
    snapshot_id: str
    drivers: list[TitleOdds] = Field(description="the drivers' championship, most likely world champion first")
    constructors: list[TitleOdds] = Field(
        description="the constructors' championship, most likely world champion first"
    )


class TitleOddsAfterRound(Documented):
    after_round: int
    entity: Literal["driver", "constructor"]
    id: str = Field(description="the driver's or the team's Ergast id", examples=["norris"])
    name: str | None = Field(description="the driver's or the team's name", examples=["Lando Norris"])
    points_now: float
    title_probability: float = Field(ge=0, le=1, description="raw simulated share, not rounded")
    title_pct: float = Field(ge=0, le=100)
    expected_points: float
    title_decided: bool


class TitleOddsHistory(FreshnessFields):
    season: int
    snapshot_id: str
    odds: list[TitleOddsAfterRound] = Field(
        description="by round, drivers then constructors, each ordered by chance, then expected points, then name"
    )


class ChampionshipExportRow(Documented):
    season: int
    after_round: int
    entity: Literal["driver", "constructor"]
    id: str = Field(description="the driver's or the team's Ergast id", examples=["norris"])
    name: str | None = Field(description="the driver's or the team's name", examples=["Lando Norris"])
    points_now: float
    title_probability: float
    expected_points: float


class ResultExportRow(Documented):
    season: int
    round: int
    race_name: str | None
    driver_id: str
    driver_name: str | None
    constructor_name: str | None
    grid: int | None
    finish_position: int | None
    position_text: str | None
    points: float | None
    laps: int | None
    status: str | None = Field(description="how the car finished: Finished, +1 Lap, Engine, ...", examples=["Finished"])


class ChampionDecision(Documented):
    decided_at: datetime
    action: Literal["promotion", "manual_promotion", "rollback"]
    previous_champion_version: str | None
    candidate_log_loss: float | None
    champion_log_loss: float | None
    deciding_outcomes: list[str]
    reason: str


class ModelInfo(Documented):
    name: str
    version: str
    alias: str
    run_id: str
    trained_at: datetime | None
    registered_at: datetime
    families: dict[str, str]
    metrics: dict[str, float]
    predictions_snapshot: str
    published_by_version: str
    became_champion: ChampionDecision | None
    degraded: list[str]


class Health(Documented):
    status: Literal["ok"] = Field(description="always ok: the process answers")


class Readiness(Documented):
    ready: bool
    model_version: str | None
    snapshot_id: str | None
    refreshed_at: datetime | None
    degraded: list[str]
    problems: dict[str, str]
