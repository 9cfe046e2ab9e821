"""What the API serves, and keeping it current without a restart.

`refresh` (run every few seconds in a worker thread) looks at the publication pointer and the `champion` alias;
when either moved it loads the new one and swaps in a new `Served` in one assignment, so a request sees either the
old or the new data, never a mix. A snapshot is served only once every table matches its declared schema
(`serving_tables.SCHEMAS`) and value rules (`serving_tables.VALUE_RULES`: a probability of 7.5, NaN or a null name
is `publication-invalid`). Whatever fails (the publication, the registry, scoring the next race with a new
champion), the last good data stays in service, `degraded` names the failed sources, `problems` holds the details
(for logs and operators) and `refreshed_at` keeps the time of the last refresh that succeeded. Each process holds
its own copy: nothing here is shared state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from f1_pipeline.publication import (
    Publication,
    PublicationError,
    PublicationInvalidError,
    current_snapshot,
    read_publication,
)
from f1_pipeline.registry.scoring import score, with_outcomes, with_rank
from f1_pipeline.registry.tracking import ModelRegistry
from f1_pipeline.serving_tables import SCHEMAS, VALUE_RULES
from f1_serving.served.champion import Champion, champion_version, load_champion, reconnect

LOGGER = logging.getLogger(__name__)
REGISTRY_DEGRADED = "registry-unavailable"
PUBLICATION_DEGRADED = "publication-unavailable"
PUBLICATION_INVALID = "publication-invalid"
SCORING_DEGRADED = "scoring-failed"
REFRESH_DEGRADED = "refresh-failed"
SUMMARIES = {
    REGISTRY_DEGRADED: "the model registry cannot be read or names no usable champion",
    PUBLICATION_DEGRADED: "the published serving data is missing, unreadable or does not match its schema",
    PUBLICATION_INVALID: "the newest published serving data holds values its contract forbids",
    SCORING_DEGRADED: "the champion could not score the published next-race features",
    REFRESH_DEGRADED: "refreshing the served data failed unexpectedly",
}
"""What each degraded source means, without paths, SQL or addresses: what anonymous callers are told."""
_NAMES = ("driver_id", "driver_name", "driver_code", "constructor_name")
"""Names beside a re-scored driver; his team's id comes from the features scored."""
_RACE = ("season", "round", "race_name", "date", "circuit_id")


@dataclass(frozen=True)
class Served:
    publication: Publication
    champion: Champion
    next_race: pl.DataFrame
    """The champion's next-race predictions: the published ones when the champion made them, else scored here."""

    @property
    def version(self) -> str:
        """Identifies what responses were built from: the publication snapshot and the champion version."""
        return f"{self.publication.manifest.snapshot_id}@{self.champion.version}"

    def table(self, name: str) -> pl.DataFrame:
        return self.publication.tables[name]


def next_race_of(publication: Publication, champion: Champion) -> pl.DataFrame:
    """Published predictions are the champion's when its version made them; after a promotion or rollback that the
    pipeline has not yet published, the champion scores the published next-race features here, with the same
    finishing-order outcomes and contributions the pipeline derives (`with_outcomes`), with the reliability the
    pipeline published for the same entries (it does not depend on the champion)."""
    published = publication.tables["next_race"]
    if publication.manifest.model_version == champion.version:
        return published
    features = publication.tables["next_race_features"]
    names = published.select(*_NAMES).unique("driver_id")
    race = publication.tables["calendar"].select(*_RACE)
    scored = score(champion.model, features)
    if "top_contributions" not in scored.columns:  # a model registered before models explained themselves
        scored = scored.with_columns(top_contributions=pl.lit(None, pl.String))
    return with_rank(
        with_outcomes(scored, features, published)
        .join(names, on="driver_id", how="left")
        .join(race, on=["season", "round"], how="left")
        .with_columns(
            model_name=pl.lit(champion.name),
            model_version=pl.lit(champion.version),
            predicted_at=pl.lit(datetime.now(UTC)),
        )
    ).sort("mode", "season", "round", "rank")


class ServingState:
    def __init__(self, registry: ModelRegistry, serving_dir: Path) -> None:
        self._registry = registry
        self._serving_dir = serving_dir
        self._publication: Publication | None = None
        self._champion: Champion | None = None
        self.served: Served | None = None
        self.problems: dict[str, str] = {}
        self.refreshed_at: datetime | None = None

    @property
    def degraded(self) -> list[str]:
        """Sources that failed at the last refresh while older data is still served."""
        return sorted(self.problems) if self.served is not None else []

    def refresh(self) -> bool:
        """Load whatever moved; True when what is served changed."""
        self.problems.pop(REFRESH_DEGRADED, None)
        publication = self._fresh_publication()
        champion = self._fresh_champion()
        changed = publication is not None and champion is not None and self._serve(publication, champion)
        if not self.problems:
            self.refreshed_at = datetime.now(UTC)
        return changed

    def report(self, name: str, error: Exception) -> None:
        """Record a failed source (logged once per distinct message); the last good data stays served."""
        if self.problems.get(name) != str(error):
            LOGGER.warning("%s: %s", name, error)
        self.problems[name] = str(error)

    def _serve(self, publication: Publication, champion: Champion) -> bool:
        current = self.served
        if current is not None and current.publication is publication and current.champion is champion:
            return False
        try:
            next_race = next_race_of(publication, champion)
        except Exception as error:  # a champion whose inputs the published features lack keeps the last good data
            self.report(SCORING_DEGRADED, error)
            return False
        self.problems.pop(SCORING_DEGRADED, None)
        self.served = Served(publication, champion, next_race)
        LOGGER.info("serving %s", self.served.version)
        return True

    def _fresh_publication(self) -> Publication | None:
        try:
            snapshot = current_snapshot(self._serving_dir)
            if snapshot is None:
                raise PublicationError(f"nothing is published in {self._serving_dir} yet: run the pipeline")
            if self._publication is None or self._publication.manifest.snapshot_id != snapshot:
                self._publication = read_publication(self._serving_dir, snapshot, schemas=SCHEMAS, rules=VALUE_RULES)
        except PublicationInvalidError as error:
            self.problems.pop(PUBLICATION_DEGRADED, None)
            self.report(PUBLICATION_INVALID, error)
        except (PublicationError, OSError) as error:
            self.problems.pop(PUBLICATION_INVALID, None)
            self.report(PUBLICATION_DEGRADED, error)
        else:
            self.problems.pop(PUBLICATION_DEGRADED, None)
            self.problems.pop(PUBLICATION_INVALID, None)
        return self._publication

    def _fresh_champion(self) -> Champion | None:
        try:
            version = champion_version(self._registry)
            if version is None:
                raise LookupError(f"no version of {self._registry.model_name!r} has the champion alias")
            if self._champion is None or self._champion.version != version:
                self._champion = load_champion(self._registry, version)
        except Exception as error:  # any registry failure (network, database, missing artifact) keeps the last good
            self.report(REGISTRY_DEGRADED, error)
            reconnect(self._registry)
        else:
            self.problems.pop(REGISTRY_DEGRADED, None)
        return self._champion
