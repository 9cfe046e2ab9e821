"""The promotion gate: the one place the `champion` alias moves, whoever asks, and the trail of every decision.

The `champion_model` asset and the registry CLI both call it, so both apply one rule. A gated promotion scores the
candidate and the current champion on the same walk-forward over the current feature rows (each rebuilt from its
version's recipe tags, or read from the backtest when it ran the same hyper-parameters) and lets
`modeling.promotion.decide` choose. An operator may override the gate (a manual promotion, which needs a reason) or
roll back; neither compares anything, and both say so in the trail.

Every decision is one row of `models.promotions` (promotion, refusal, manual_promotion or rollback), written through
the warehouse module, so recording needs no Dagster. The row lands before the alias moves: a process killed in
between reaches the same decision when asked again, finds it recorded and completes the move. A gated decision that
repeats the last row (same candidate, alias left on the same version) adds no row, so a rerun of the asset after a
kill, or on unchanged data, records its decision once.

A version an operator rolled back from is refused by the gate until a manual promotion brings it back: the next
scheduled run judges the newest version, which is usually the one just rolled back, and would otherwise undo the
rollback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from f1_pipeline import tables
from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract
from f1_pipeline.modeling.backtest import completed, fingerprint
from f1_pipeline.modeling.candidates import Recipe, recipes_from_json
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.promotion import Decision, Evaluation, decide, evaluation_of
from f1_pipeline.modeling.training import (
    BACKTEST_PREDICTIONS_CONTRACT,
    CANDIDATE,
    Seasons,
    candidate_predictions,
    recipe_backtest,
)
from f1_pipeline.registry.decisions import PROMOTION_SCHEMA
from f1_pipeline.registry.scoring import reliability_of, with_outcomes
from f1_pipeline.registry.tracking import ModelRegistry
from f1_pipeline.warehouse import MissingTableError, Warehouse

Action = Literal["promotion", "refusal", "manual_promotion", "rollback"]
GATED: tuple[Action, ...] = ("promotion", "refusal")
CLI = "cli"
"""`decided_by` of a decision taken through the registry CLI (the asset's is its Dagster run id)."""
CHAMPION_BACKTEST_CONTRACT = Contract(
    tables.CHAMPION_BACKTEST.qualified,
    tables.CHAMPION_BACKTEST.row,
    (
        *(
            replace(
                column,
                description=f"{CANDIDATE}, whichever version is the champion",
                rule=ColumnRule(not_null=True, allowed=(CANDIDATE,)),
            )
            if column.name == "model"
            else column
            for column in BACKTEST_PREDICTIONS_CONTRACT.columns
        ),
        Column(
            "model_version",
            pl.String,
            "the champion's registered version after the decision, whose recipe made the predictions",
            REQUIRED,
        ),
        Column(
            "evaluation_fingerprint",
            pl.String,
            "identifies the feature rows (completed races from the first training season on) the walk-forward was "
            "made on",
            REQUIRED,
        ),
    ),
    sums=BACKTEST_PREDICTIONS_CONTRACT.sums,
    key=BACKTEST_PREDICTIONS_CONTRACT.key,
)
"""The champion's walk-forward predictions in the backtest's columns, with its version and the rows they were made
on: what the published race predictions are built from, so they always come from the version the alias names."""


@dataclass(frozen=True)
class PromotionRecord:
    """One decision: a row of `models.promotions`."""

    action: Action
    candidate_version: str
    """The version the decision was about (the one promoted, refused, or moved to)."""
    previous_champion_version: str | None
    resulting_champion_version: str
    reason: str
    decided_by: str
    """The asset's Dagster run id, or `cli`."""
    candidate: Evaluation | None = None
    """The candidate's score on the walk-forward the gate compared (None: nothing was compared)."""
    champion: Evaluation | None = None
    """The previous champion's score on the same walk-forward (None: no champion, or nothing was compared)."""
    deciding_outcomes: tuple[str, ...] = ()
    """The published outcomes the gate's decision turned on (`Decision.deciding_outcomes`); empty when ungated."""
    decided_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def promoted(self) -> bool:
        return self.action != "refusal"

    def row(self) -> dict[str, Any]:
        compared = self.candidate or self.champion
        return {
            "decided_at": self.decided_at,
            "action": self.action,
            "candidate_version": self.candidate_version,
            "previous_champion_version": self.previous_champion_version,
            "resulting_champion_version": self.resulting_champion_version,
            "candidate_log_loss": None if self.candidate is None else self.candidate.log_loss,
            "champion_log_loss": None if self.champion is None else self.champion.log_loss,
            "candidate_podium_log_loss": None if self.candidate is None else self.candidate.podium_log_loss,
            "champion_podium_log_loss": None if self.champion is None else self.champion.podium_log_loss,
            "evaluation_fingerprint": None if compared is None else compared.fingerprint,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "deciding_outcomes": ",".join(self.deciding_outcomes) or None,
        }


class AliasNotMovedError(RuntimeError):
    """The decision was recorded, but the registry did not end with the alias where it says (a registry failure
    between the two). Running the same decision again moves the alias (a gated rerun records nothing twice)."""


@dataclass(frozen=True)
class Outcome:
    record: PromotionRecord
    recorded: bool
    """False when the decision repeated the last row of `models.promotions` and was not recorded again."""


def evaluation_fingerprint(frame: pl.DataFrame, seasons: Seasons) -> str:
    """Every feature row from the first training season on: what the walk-forward learns from and is scored on."""
    return fingerprint(completed(frame).filter(pl.col("season") >= seasons.train_first))


@dataclass(frozen=True)
class WalkForward:
    """What the gate scores versions on: the current feature rows and season split, and the model backtest (every
    model family, run deterministically with the tuned hyper-parameters on the same rows)."""

    frame: pl.DataFrame
    seasons: Seasons
    tuned: Mapping[Mode, Recipe]
    families: pl.DataFrame
    """The backtest of every model family and baseline, without the rows relabelled `candidate` by the validation
    choice."""
    not_classified: pl.DataFrame | None = None
    """The reliability model's walk-forward P(not classified) of every feature row (mode, season, round, driver_id,
    not_classified_probability): with it the gate scores every published outcome, not only the winner's."""

    @classmethod
    def from_warehouse(cls, store: Warehouse, seasons: Seasons) -> WalkForward:
        frame = store.read(tables.RACE_FEATURES)
        scored = completed(frame).filter(pl.col("season") >= seasons.backtest_first)
        reliability = reliability_of(store, scored) if scored.height else None
        return cls(frame, seasons, tuned_recipes(store), families_backtest(store), reliability)

    def evaluation(self, predictions: pl.DataFrame) -> Evaluation:
        """The gate's score of walk-forward predictions: with every published outcome when the reliability is known
        (each model's outcomes from its own win distribution and the same reliability)."""
        if self.not_classified is not None:
            predictions = published_outcomes(predictions, self.frame, self.not_classified)
        return evaluation_of(predictions, self.fingerprint())

    def fingerprint(self) -> str:
        return evaluation_fingerprint(self.frame, self.seasons)

    def predictions(self, recipes: Mapping[Mode, Recipe]) -> pl.DataFrame:
        """Recipes' walk-forward predictions: read from the backtest when it ran the same hyper-parameters, else
        computed afresh (minutes on the full history)."""
        tuned = self.tuned
        if recipes.keys() == tuned.keys() and all(recipes[mode].params == tuned[mode].params for mode in recipes):
            return candidate_predictions(self.families, recipes)
        return recipe_backtest(self.frame, recipes, self.seasons)


def published_outcomes(predictions: pl.DataFrame, frame: pl.DataFrame, not_classified: pl.DataFrame) -> pl.DataFrame:
    """Walk-forward predictions (one `model`, both modes) with every published outcome column, as the published
    predictions derive them (`registry.scoring.with_outcomes`)."""
    return with_outcomes(predictions.drop("podium_probability", strict=False), frame, not_classified)


def tuned_recipes(store: Warehouse) -> dict[Mode, Recipe]:
    recipes: dict[Mode, Recipe] = {}
    for row in store.read(tables.RECIPES).iter_rows(named=True):
        recipes |= recipes_from_json(row["recipe"])
    return recipes


def families_backtest(store: Warehouse) -> pl.DataFrame:
    return store.read(tables.BACKTEST_PREDICTIONS).filter(pl.col("model") != CANDIDATE)


def promote(
    registry: ModelRegistry, store: Warehouse, walk_forward: WalkForward, version: str, decided_by: str
) -> Outcome:
    """The gate on `version`: promoted only if it beats the champion on the same walk-forward. The winner's
    walk-forward predictions become `models.champion_backtest` in the transaction that records the decision."""
    candidate = registry.version(version)
    champion = registry.champion()
    previous = None if champion is None else str(champion.version)
    history = promotion_history(store)
    current = walk_forward.fingerprint()
    candidate_predictions = walk_forward.predictions(registry.recipes(candidate))
    candidate_evaluation = walk_forward.evaluation(candidate_predictions)
    champion_evaluation: Evaluation | None = None
    champion_predictions: pl.DataFrame | None = None
    rollback = rolled_back_from(history, version)
    if champion is None:
        decision = decide(candidate_evaluation, None)
    elif previous == version:
        decision = Decision(False, f"version {version} is already the champion")
    elif rollback is not None:
        decision = Decision(
            False,
            f"version {version} was rolled back on {rollback['decided_at']:%Y-%m-%d %H:%M} UTC "
            f"({rollback['reason']}); only a manual promotion brings it back",
        )
    else:
        champion_predictions = walk_forward.predictions(registry.recipes(champion))
        champion_evaluation = walk_forward.evaluation(champion_predictions)
        decision = decide(candidate_evaluation, champion_evaluation)
    resulting = version if decision.promote or previous is None else previous
    if resulting == version:
        published = candidate_predictions
    else:
        published = (
            champion_predictions
            if champion_predictions is not None
            else walk_forward.predictions(registry.recipes(registry.version(resulting)))
        )
    record = PromotionRecord(
        action="promotion" if decision.promote else "refusal",
        candidate_version=version,
        previous_champion_version=previous,
        resulting_champion_version=resulting,
        reason=decision.reason,
        decided_by=decided_by,
        candidate=candidate_evaluation,
        champion=champion_evaluation,
        deciding_outcomes=decision.deciding_outcomes,
    )
    backtest = published.with_columns(model_version=pl.lit(resulting), evaluation_fingerprint=pl.lit(current))
    return _decided(registry, store, history, record, backtest)


def manual_promotion(registry: ModelRegistry, store: Warehouse, version: str, reason: str) -> Outcome:
    """An operator overrides the gate: the alias moves to `version`, nothing compared, the reason recorded."""
    if not reason.strip():
        raise ValueError("a manual promotion overrides the gate: say why (--reason)")
    return _moved_by_operator(registry, store, version, "manual_promotion", reason)


def rollback(registry: ModelRegistry, store: Warehouse, version: str, reason: str | None = None) -> Outcome:
    """Deliberately ungated: how a bad champion is undone. The gate will not promote the version rolled back from
    again (see the module's docstring)."""
    champion = registry.champion()
    default = f"rolled back from version {None if champion is None else champion.version} to {version}"
    return _moved_by_operator(registry, store, version, "rollback", reason or default)


def _moved_by_operator(registry: ModelRegistry, store: Warehouse, version: str, action: Action, reason: str) -> Outcome:
    registry.version(version)  # an unknown version fails here, before anything is recorded or moved
    champion = registry.champion()
    record = PromotionRecord(
        action=action,
        candidate_version=version,
        previous_champion_version=None if champion is None else str(champion.version),
        resulting_champion_version=version,
        reason=reason,
        decided_by=CLI,
    )
    return _decided(registry, store, promotion_history(store), record, champion_backtest=None)


def _decided(
    registry: ModelRegistry,
    store: Warehouse,
    history: pl.DataFrame,
    record: PromotionRecord,
    champion_backtest: pl.DataFrame | None,
) -> Outcome:
    """Record, then move the alias, then check it moved."""
    repeat = record.action in GATED and repeats_last_decision(history, record)
    with store.transaction() as writes:
        if champion_backtest is not None:
            writes.replace_table(tables.CHAMPION_BACKTEST, champion_backtest)
        if not repeat:
            rows = pl.concat([history, pl.DataFrame([record.row()], PROMOTION_SCHEMA)])
            writes.replace_table(tables.PROMOTIONS, rows)
    if record.promoted:
        registry.set_champion(record.resulting_champion_version)
    if not repeat:
        registry.note_decision(
            record.candidate_version, f"{record.action} ({record.decided_at:%Y-%m-%d %H:%M} UTC): {record.reason}"
        )
    moved = registry.champion()
    if moved is None or str(moved.version) != record.resulting_champion_version:
        raise AliasNotMovedError(
            f"the decision is recorded in {tables.PROMOTIONS} but the champion alias is not on version "
            f"{record.resulting_champion_version}; run the same command again to move it"
        )
    return Outcome(record, recorded=not repeat)


def promotion_history(store: Warehouse) -> pl.DataFrame:
    """Every decision so far, oldest first."""
    try:
        recorded = store.read(tables.PROMOTIONS)
    except MissingTableError:
        return pl.DataFrame(schema=PROMOTION_SCHEMA)
    return recorded.select(PROMOTION_SCHEMA.names()).cast(PROMOTION_SCHEMA)


def repeats_last_decision(history: pl.DataFrame, record: PromotionRecord) -> bool:
    """The last row was about this candidate and left the alias where this decision leaves it: a rerun of the same
    gate (after a kill, or on unchanged data) with nothing new to record."""
    if history.is_empty():
        return False
    last = history.row(-1, named=True)
    return (
        last["candidate_version"] == record.candidate_version
        and last["resulting_champion_version"] == record.resulting_champion_version
    )


def rolled_back_from(history: pl.DataFrame, version: str) -> dict[str, Any] | None:
    """The rollback that last moved the alias off `version`, unless a later decision moved it back on."""
    onto = pl.col("resulting_champion_version").eq_missing(version)
    off = pl.col("previous_champion_version").eq_missing(version)
    moves = history.filter(onto != off)
    if moves.is_empty():
        return None
    last = moves.row(-1, named=True)
    return last if last["action"] == "rollback" and last["previous_champion_version"] == version else None
