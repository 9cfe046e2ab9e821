"""World championship points per season: what a finishing place, a fastest lap and a sprint place are worth.

Standings are always summed from the points the results record (they are what counted, penalties and half points
included); these tables serve to simulate races not run yet, and tests/unit/pipeline/test_season_simulation.py checks
them against every recorded point since 2010.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST_MODELLED_SEASON = 2010
"""The first season of the 25-18-15 scale; earlier seasons only have their number of points-paying places."""
_RACE_2010 = (25.0, 18.0, 15.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0, 1.0)
_SPRINT_2021 = (3.0, 2.0, 1.0)
_SPRINT_2022 = (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0)
_FASTEST_LAP_SEASONS = range(2019, 2025)
_DOUBLE_FINAL_SEASONS = (2014,)


@dataclass(frozen=True)
class PointsSystem:
    race: tuple[float, ...]
    """Points for places 1, 2, ... of a Grand Prix."""
    sprint: tuple[float, ...]
    """Points for places 1, 2, ... of a sprint (empty before sprints scored)."""
    fastest_lap: float
    """Bonus for the race's fastest lap, paid only to a car classified in the points-paying places."""
    double_final_race: bool
    """2014: the season's last race paid double points."""


def points_places(season: int) -> int:
    """How many places of a Grand Prix paid points that season (5 in the 1950s, 6 to 2002, 8 to 2009, then 10)."""
    if season < 1960:
        return 5
    if season < 2003:
        return 6
    if season < FIRST_MODELLED_SEASON:
        return 8
    return len(_RACE_2010)


def points_system(season: int) -> PointsSystem:
    if season < FIRST_MODELLED_SEASON:
        raise ValueError(f"points are modelled from {FIRST_MODELLED_SEASON} on, got season {season}")
    sprint = () if season < 2021 else _SPRINT_2021 if season == 2021 else _SPRINT_2022
    return PointsSystem(
        race=_RACE_2010,
        sprint=sprint,
        fastest_lap=1.0 if season in _FASTEST_LAP_SEASONS else 0.0,
        double_final_race=season in _DOUBLE_FINAL_SEASONS,
    )


def race_points(system: PointsSystem, place: np.ndarray, fastest_lap: np.ndarray, final_race: bool) -> np.ndarray:
    """Points for classified places (1-based; 0 or less = not classified), any array shape, fastest lap flags alike."""
    place = np.asarray(place)
    points = _by_place(system.race, place)
    bonus = np.where(np.asarray(fastest_lap, dtype=bool) & (points > 0), system.fastest_lap, 0.0)
    return (points + bonus) * (2.0 if final_race and system.double_final_race else 1.0)


def sprint_points(system: PointsSystem, place: np.ndarray) -> np.ndarray:
    return _by_place(system.sprint, np.asarray(place))


def _by_place(table: tuple[float, ...], place: np.ndarray) -> np.ndarray:
    lookup = np.array((0.0, *table))
    index = np.where((place >= 1) & (place <= len(table)), place, 0)
    return lookup[index]
