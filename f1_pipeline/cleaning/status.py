"""One category per result row, whichever vocabulary wrote the status.

Ergast wrote the retirement reason ("Engine", "+1 Lap"); Jolpica's current API writes "Lapped" and
"Retired". Models need the category, not the wording, so both map to the same five values.
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
_RETIRED_TEXT = {"R", "N"}
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
    """A polars expression giving the `StatusCategory` value of each row.

    The position text is the steward's verdict and decides whenever it can: `D`/`E` disqualified,
    `W`/`F` did not start, `R`/`N` retired (whatever the wording: a retired car may be laps down), and a
    classified number is finished, lapped or (a car classified but not running at the end) retired. Only
    an unknown position text falls back on the wording alone.
    """
    text = pl.col(position_text).str.strip_chars().str.to_uppercase()
    wording = pl.col(status).str.strip_chars().str.to_lowercase()
    classified = text.str.contains(r"^\d+$")
    finished = wording == "finished"
    lapped = wording.str.contains(_LAPPED_PATTERN)
    return (
        pl.when(text.is_in(_DISQUALIFIED_TEXT))
        .then(pl.lit(StatusCategory.DISQUALIFIED.value))
        .when(text.is_in(_DID_NOT_START_TEXT))
        .then(pl.lit(StatusCategory.DID_NOT_START.value))
        .when(text.is_in(_RETIRED_TEXT))
        .then(pl.lit(StatusCategory.RETIRED.value))
        .when(classified & finished)
        .then(pl.lit(StatusCategory.FINISHED.value))
        .when(classified & lapped)
        .then(pl.lit(StatusCategory.LAPPED.value))
        .when(classified)
        .then(pl.lit(StatusCategory.RETIRED.value))
        .when(wording.is_in(_DISQUALIFIED_STATUS))
        .then(pl.lit(StatusCategory.DISQUALIFIED.value))
        .when(wording.is_in(_DID_NOT_START_STATUS))
        .then(pl.lit(StatusCategory.DID_NOT_START.value))
        .when(finished)
        .then(pl.lit(StatusCategory.FINISHED.value))
        .when(lapped)
        .then(pl.lit(StatusCategory.LAPPED.value))
        .otherwise(pl.lit(StatusCategory.RETIRED.value))
    )
