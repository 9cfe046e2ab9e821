"""F1DB's driver and constructor ids as Ergast ids, so practice rows join the race results.

A driver with no Ergast id (a test or reserve driver who never started a race) keeps F1DB's id behind an `f1db:`
prefix rather than being dropped: the session's fastest time is still a fact about the session. Constructors map
by constructor and engine first, because Ergast names some early constructors by both (`cooper-maserati`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

BUNDLED_IDS = Path(str(resources.files("f1_pipeline") / "data" / "f1db_practice" / "f1db_ergast_ids.json"))
F1DB_PREFIX = "f1db:"


@dataclass(frozen=True)
class ErgastIds:
    drivers: Mapping[str, str]
    constructors_by_season: Mapping[str, str]
    constructors_by_engine: Mapping[str, str]
    constructors: Mapping[str, str]

    @classmethod
    def load(cls, path: Path = BUNDLED_IDS) -> ErgastIds:
        maps = json.loads(path.read_text(encoding="utf-8"))
        keys = ("drivers", "constructors_by_season", "constructors_by_engine", "constructors")
        return cls(*(maps[key] for key in keys))

    def ergast_drivers(self) -> set[str]:
        """Every Ergast driver id the map knows: drivers who started a race, whichever seasons are loaded."""
        return set(self.drivers.values())

    def ergast_constructors(self) -> set[str]:
        maps = (self.constructors_by_season, self.constructors_by_engine, self.constructors)
        return {ergast_id for mapping in maps for ergast_id in mapping.values()}

    def driver(self, f1db_id: str) -> str:
        return self.drivers.get(f1db_id) or F1DB_PREFIX + f1db_id

    def constructor(self, f1db_id: str, engine_id: str | None, season: str) -> str:
        return (
            self.constructors_by_season.get(f"{season}|{f1db_id}|{engine_id}")
            or self.constructors_by_engine.get(f"{f1db_id}|{engine_id}")
            or self.constructors.get(f1db_id)
            or F1DB_PREFIX + f1db_id
        )
