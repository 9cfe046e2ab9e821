"""The columns of a decision on the champion alias (`models.promotions`): declared once, for the gate that writes
the table and for the publication that serves part of it (light: polars only, so the API can import it)."""

from __future__ import annotations

import polars as pl

from f1_pipeline.contracts import FINITE, REQUIRED, Column, Contract
from f1_pipeline.tables import PROMOTIONS

_GATE_REASON = (
    "promoted: candidate 0.4713 vs champion 0.4802 over 252 races, both modes; no published outcome worse beyond "
    "paired noise"
)
PROMOTIONS_CONTRACT = Contract(
    PROMOTIONS.qualified,
    PROMOTIONS.row,
    (
        Column(
            "decided_at",
            pl.Datetime("us", "UTC"),
            "when the decision was taken (UTC)",
            REQUIRED,
            "2026-09-10T06:12:00Z",
        ),
        Column(
            "action",
            pl.String,
            "promotion or refusal (the gate's), manual_promotion or rollback (an operator's)",
            REQUIRED,
        ),
        Column("candidate_version", pl.String, "the registry version the decision was about", REQUIRED),
        Column(
            "previous_champion_version", pl.String, "the champion before the decision; null for the first", example="6"
        ),
        Column(
            "resulting_champion_version",
            pl.String,
            "the version the champion alias named after the decision",
            REQUIRED,
        ),
        Column(
            "candidate_log_loss",
            pl.Float64,
            "the candidate's walk-forward winner log loss; null when nothing was compared",
            FINITE,
        ),
        Column(
            "champion_log_loss",
            pl.Float64,
            "the previous champion's on the same walk-forward; null without one, or when not compared",
            FINITE,
        ),
        Column(
            "candidate_podium_log_loss",
            pl.Float64,
            "the candidate's walk-forward podium log loss (per race, the summed log loss of every driver's P(podium), "
            "averaged; lower is better); null when nothing was compared",
            FINITE,
        ),
        Column(
            "champion_podium_log_loss",
            pl.Float64,
            "the previous champion's on the same walk-forward; null without one, or when not compared",
            FINITE,
        ),
        Column(
            "evaluation_fingerprint",
            pl.String,
            "identifies the feature rows (completed races from the first training season on) the walk-forward was "
            "scored on; null when nothing was compared",
        ),
        Column(
            "reason",
            pl.String,
            "the decision in words, as the registry's version description ends",
            REQUIRED,
            _GATE_REASON,
        ),
        Column("decided_by", pl.String, "the Dagster run id of the champion_model run that decided, or cli", REQUIRED),
        Column(
            "deciding_outcomes",
            pl.String,
            "comma-separated outcomes the gate's decision turned on (win: the winner log loss); null for an "
            "operator's decision",
        ),
    ),
)
PROMOTION_SCHEMA = pl.Schema(PROMOTIONS_CONTRACT.schema)
