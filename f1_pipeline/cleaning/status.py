"""One category per result row, whichever vocabulary wrote the status.

Ergast wrote the retirement reason ("Engine", "+1 Lap"); Jolpica's current API writes "Lapped" and
"Retired". Models need the category, not the wording, so both map to the same five values. The
classified position text (`R`, `D`, `E`, `W`, `F`, `N` or a number) decides first because it is the
steward's verdict; the status text decides the rest.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl


class StatusCategory(StrEnum):
    FINISHED = "finished"
    LAPPED = "lapped"
    RETIRED = "retired"
    DISQUALIFIED = "disqualified"
    DID_NOT_START = "did_not_start"


_DISQUALIFIED_TEXT = {"D", "E"}
_DID_NOT_START_TEXT = {"W", "F"}
_DISQUALIFIED_STATUS = {"disqualified", "excluded"}
_DID_NOT_START_STATUS = {
    "did not start",
    "did not qualify",
    "did not prequalify",
    "withdrew",
    "107% rule",
    "not qualified",
    "dns",
    "dnq",
    "dnpq",
}
_LAPPED_PATTERN = r"^(\+\d+ laps?|lapped)$"


def status_category_expr(position_text: str = "position_text", status: str = "status") -> pl.Expr:
    """A polars expression giving the `StatusCategory` value of each row."""
    text = pl.col(position_text).str.strip_chars().str.to_uppercase()
    wording = pl.col(status).str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.is_in(_DISQUALIFIED_TEXT) | wording.is_in(_DISQUALIFIED_STATUS))
        .then(pl.lit(StatusCategory.DISQUALIFIED.value))
        .when(text.is_in(_DID_NOT_START_TEXT) | wording.is_in(_DID_NOT_START_STATUS))
        .then(pl.lit(StatusCategory.DID_NOT_START.value))
        .when(wording == "finished")
        .then(pl.lit(StatusCategory.FINISHED.value))
        .when(wording.str.contains(_LAPPED_PATTERN))
        .then(pl.lit(StatusCategory.LAPPED.value))
        .otherwise(pl.lit(StatusCategory.RETIRED.value))
    )
