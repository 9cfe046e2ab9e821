"""How numbers, dates and times are written for people: one place, so every dashboard page and the `f1-predict`
command say them the same way."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MISSING = "\N{EN DASH}"
"""What a cell shows when there is nothing to say (no prediction, no winner yet)."""


def percent(probability: float | None, decided: bool = False) -> str:
    """One decimal, as a fan reads odds. A chance that is neither nil nor certain never reads "0.0%" or "100.0%":
    below the first decimal it is "<0.1%", above it ">99.9%". Only a `decided` outcome (a title mathematically won
    or lost) shows "0.0%" or "100.0%"; the API keeps the raw probability either way."""
    if probability is None:
        return MISSING
    if decided:
        return f"{probability:.1%}"
    if probability < 0.0005:
        return "<0.1%"
    if probability >= 0.9995:
        return ">99.9%"
    return f"{probability:.1%}"


def share(value: float | None) -> str:
    """An observed share (how often favourites won): a count of what happened, not a chance, so 1 of 1 is "100.0%"
    and none is "0.0%", unlike `percent`."""
    return MISSING if value is None else f"{value:.1%}"


def points_change(change: float | None) -> str:
    """A change of probability in percentage points, signed, with a word for a screen reader rather than a colour."""
    if change is None:
        return MISSING
    if abs(change) < 0.0005:
        return "no change"
    return f"{'up' if change > 0 else 'down'} {abs(change) * 100:.1f} pts"


def day(value: date | None) -> str:
    return MISSING if value is None else f"{value.day} {value:%B %Y}"


def local_time(starts_at: datetime | None, timezone: str | None, scheduled: date | None = None) -> str | None:
    """`starts_at` (UTC) on the circuit's clock, e.g. "15:00 CEST (13:00 UTC)", with the local day first when it is
    not the `scheduled` (UTC) date, as for a Saturday-night race; None without a start or a zone."""
    if starts_at is None or timezone is None:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = starts_at.astimezone(zone)
    utc = starts_at.astimezone(ZoneInfo("UTC"))
    local_day = "" if scheduled is None or local.date() == scheduled else f"{local:%a} {day(local.date())}, "
    return f"{local_day}{local:%H:%M} {zone_name(local, timezone)} ({utc:%H:%M} UTC)"


def zone_name(local: datetime, timezone: str) -> str:
    """The zone's abbreviation where it has a common one ("CEST", "JST"), else its place by name, "Dubai time",
    rather than the bare offset ("+04") the time-zone database gives zones without one."""
    abbreviation = local.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return f"{timezone.rsplit('/', 1)[-1].replace('_', ' ')} time"
