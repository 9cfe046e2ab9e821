"""What moved a driver's chance, in plain words: the model's stored top contributions (the features whose part in
the driver's score against the race's mean driver is largest) said with the driver's own value of each feature,
e.g. "helped by: averaged P1.7 in practice this weekend"."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any


def _place(value: float) -> str:
    """1.0 -> "P1", 2.43 -> "P2.4": a place as fans write it, a mean place with one decimal."""
    return f"P{value:.0f}" if abs(value - round(value)) < 0.05 else f"P{value:.1f}"


def _of_ten(value: float) -> str:
    return f"{round(value * 10)} of the last 10 races"


def _gap(value: float) -> str:
    return "the fastest" if value < 0.005 else f"{value:.2f}% off the fastest"


PHRASES: dict[str, Callable[[float], str]] = {
    "practice_mean_position": lambda v: f"averaged {_place(v)} in practice this weekend",
    "practice_best_gap": lambda v: f"best practice lap {_gap(v)} this weekend",
    "practice_mean_gap": lambda v: f"on average {_gap(v)} in this weekend's practice sessions",
    "practice_last_gap": lambda v: f"{_gap(v)} in the last practice session",
    "team_practice_best_gap": lambda v: f"the team's best car {_gap(v)} in practice",
    "driver_avg_qualifying_5": lambda v: f"averaged {_place(v)} in qualifying over his last 5 races",
    "driver_qualifying_gap_5": lambda v: f"{v:.2f}% off pole on average in his last 5 qualifyings",
    "team_avg_qualifying_5": lambda v: f"the team's best car averaged {_place(v)} in qualifying over its last 5 races",
    "team_qualifying_gap_5": lambda v: f"the team's best car {v:.2f}% off pole on average in its last 5 qualifyings",
    "driver_season_qualifying_gap": lambda v: f"{v:.2f}% off pole on average this season",
    "team_season_qualifying_gap": lambda v: f"the team {v:.2f}% off pole on average this season",
    "season_points": lambda v: f"{v:g} points this season",
    "season_wins": lambda v: f"{v:.0f} wins this season",
    "championship_position": lambda v: f"{_place(v)} in the championship",
    "points_behind_leader": lambda v: "leads the championship" if v <= 0 else f"{v:g} points behind the leader",
    "driver_wins_rate_10": lambda v: f"won {_of_ten(v)}",
    "team_wins_rate_10": lambda v: f"the team won {_of_ten(v)}",
    "driver_dnf_rate_10": lambda v: "finished each of the last 10 races" if v == 0 else f"did not finish {_of_ten(v)}",
    "driver_starts": lambda v: f"{v:.0f} races of experience",
    "driver_elo": lambda v: f"driver rating {v:.0f}",
    "team_elo": lambda v: f"team rating {v:.0f}",
    "driver_avg_finish_5": lambda v: f"averaged {_place(v)} at the finish over his last 5 races",
    "team_avg_finish_5": lambda v: f"the team's cars averaged {_place(v)} at the finish over their last 5 races",
    "driver_circuit_starts": lambda v: f"{v:.0f} earlier races at this circuit",
    "driver_circuit_wins": lambda v: f"{v:.0f} earlier wins at this circuit",
    "driver_circuit_avg_finish": lambda v: f"averaged {_place(v)} at the finish at this circuit",
    "grid": lambda v: "starts on pole" if v == 1 else f"starts {_place(v)}",
    "pit_lane_start": lambda v: "starts from the pit lane" if v else "starts from the grid",
    "qualifying_position": lambda v: "on pole" if v == 1 else f"qualified {_place(v)}",
    "qualifying_gap_pct": lambda v: "on pole" if v < 0.005 else f"{v:.2f}% off pole in qualifying",
    "air_temperature": lambda v: f"an air temperature of {v:.0f} °C",
    "wet": lambda v: "a wet track" if v else "a dry track",
    "wind_speed": lambda v: f"wind of {v:.1f} m/s",
}
"""Each model input said with the driver's value of it; an input not listed is named by its column."""

MISSING_PHRASE = "no data for {name}"
MISSING_PHRASES = {
    "driver_circuit_avg_finish": "no earlier race at this circuit",
    "driver_circuit_starts": "no earlier race at this circuit",
    "championship_position": "no standing yet this season",
}
"""An input without a value that has a plainer reason than "no data"."""


def reasons(top_contributions: str | None, features: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The phrases of the inputs that raised the driver's chance and of those that lowered it, largest first, from
    the published JSON list and the driver's feature row (empty when the model could not say)."""
    if not top_contributions:
        return (), ()
    raised: list[str] = []
    lowered: list[str] = []
    for part in json.loads(top_contributions):
        name, contribution = part["feature"], float(part["contribution"])
        value = features.get(name)
        phrase = PHRASES.get(name)
        if value is None:
            text = MISSING_PHRASES.get(name) or MISSING_PHRASE.format(name=name.replace("_", " "))
        elif phrase is None:
            text = f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float | int) else name.replace("_", " ")
        else:
            text = phrase(float(value))
        (raised if contribution > 0 else lowered).append(text)
    return tuple(raised), tuple(lowered)


def sentence(raised: tuple[str, ...], lowered: tuple[str, ...]) -> str | None:
    """ "Helped by: ...; ... held back by: ...", or None when there is nothing to say."""
    labels = (("Helped by", raised), ("Held back by", lowered))
    parts = [f"{label}: {'; '.join(items)}" for label, items in labels if items]
    return ". ".join(parts) + "." if parts else None
