"""A race's field: the rows sharing (season, round). Every model predicts a distribution over it."""

from __future__ import annotations

import numpy as np
import polars as pl

RACE_KEY = ("season", "round")


def race_index(frame: pl.DataFrame) -> np.ndarray:
    """A dense integer per race, aligned with the frame's rows (rows need not be sorted)."""
    return frame.select(pl.struct(*RACE_KEY).rank("dense") - 1).to_series().to_numpy().astype(np.int64)


def normalise(frame: pl.DataFrame, scores: np.ndarray) -> np.ndarray:
    """Scores >= 0 scaled to sum to 1 within each race; a race whose scores are all 0 gets a uniform field."""
    scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, None)
    races = race_index(frame)
    totals = np.bincount(races, weights=scores)
    sizes = np.bincount(races)
    empty = totals[races] <= 0
    return np.where(empty, 1.0 / sizes[races], scores / np.where(empty, 1.0, totals[races]))


def softmax(frame: pl.DataFrame, logits: np.ndarray) -> np.ndarray:
    """exp(logit) normalised within each race, computed stably (the race's largest logit is subtracted)."""
    return indexed_softmax(race_index(frame), logits)


def indexed_softmax(races: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """`softmax` over rows already numbered by race (what a fitting loop calls many times)."""
    logits = np.asarray(logits, dtype=np.float64)
    peak = np.full(races.max() + 1 if races.size else 0, -np.inf)
    np.maximum.at(peak, races, logits)
    scores = np.exp(logits - peak[races])
    return scores / np.bincount(races, weights=scores)[races]
