"""The columns of a decision on the champion alias (`models.promotions`): declared once, for the gate that writes
the table and for the publication that serves part of it (light: polars only, so the API can import it)."""

from __future__ import annotations

import polars as pl
from polars.datatypes import DataTypeClass

_COLUMNS: dict[str, pl.DataType | DataTypeClass] = {
    "decided_at": pl.Datetime("us", "UTC"),
    "action": pl.String,
    "candidate_version": pl.String,
    "previous_champion_version": pl.String,
    "resulting_champion_version": pl.String,
    "candidate_log_loss": pl.Float64,
    "champion_log_loss": pl.Float64,
    "candidate_podium_log_loss": pl.Float64,
    "champion_podium_log_loss": pl.Float64,
    "evaluation_fingerprint": pl.String,
    "reason": pl.String,
    "decided_by": pl.String,
    "deciding_outcomes": pl.String,
}
PROMOTION_SCHEMA = pl.Schema(_COLUMNS)
