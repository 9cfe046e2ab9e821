"""A small publication the publication and crash-safety tests write and read back."""

from datetime import UTC, datetime

import polars as pl

from f1_pipeline.publication import TABLES

MODEL = {"model_name": "f1-race-winner", "model_version": "3"}


def tables(winner_probability: float = 0.7, predicted_at: datetime | None = None) -> dict[str, pl.DataFrame]:
    """A small publication; `winner_probability` changes its content, `predicted_at` only its timestamp."""
    frames = {name: pl.DataFrame({"season": [2026], "round": [12], "table": [name]}) for name in TABLES}
    frames["next_race"] = pl.DataFrame(
        {
            "driver_id": ["max_verstappen", "norris"],
            "probability": [winner_probability, 1 - winner_probability],
            "predicted_at": [predicted_at or datetime(2026, 11, 25, 7, 0, tzinfo=UTC)] * 2,
        }
    )
    return frames
