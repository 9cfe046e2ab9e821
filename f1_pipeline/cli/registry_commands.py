"""What `f1-predict registry` does: the registered versions, and the `champion` alias moved through the promotion
gate, past it, or back; each returns the command's exit code.

`promote VERSION` applies the gate the `champion_model` asset applies (`registry.gate`): it scores VERSION and the
champion on the same walk-forward over the warehouse's current features, so the model layer must have been
materialized. `promote VERSION --force --reason TEXT` overrides the gate; `rollback VERSION` is deliberately ungated
(it is how a bad champion is undone). Every decision, refusals included, becomes a row of `models.promotions`.

Exit codes: 0 the alias is on VERSION, 1 the gate refused, 2 nothing was decided (an unknown version, a version
without the recipe tags the gate rebuilds it from, no model layer in the warehouse to evaluate on, or `--force`
without a reason), 3 the decision was recorded but the alias did not move (run the command again).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from mlflow.exceptions import MlflowException

from f1_pipeline.modeling.training import Seasons
from f1_pipeline.registry import gate
from f1_pipeline.registry.tracking import MissingRecipeError, ModelRegistry, describe, registry_for
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import PROMOTIONS
from f1_pipeline.warehouse import MissingTableError, Warehouse


def show(settings: PipelineSettings) -> int:
    registry = registry_for(settings)
    versions = registry.client().search_model_versions(f"name = '{registry.model_name}'")
    rows = [describe(registry.version(str(version.version))) for version in versions]
    print(json.dumps(sorted(rows, key=lambda row: int(row["version"])), indent=2, default=str))
    return 0


def promote(settings: PipelineSettings, version: str, *, force: bool = False, reason: str | None = None) -> int:
    """Through the gate; with `force`, past it (a manual promotion, which must say why)."""
    if force != bool(reason and reason.strip()):
        return _refused("--force overrides the gate and needs --reason saying why; --reason goes only with --force", 2)
    registry = registry_for(settings)
    if not _known(registry, version):
        return 2
    store = Warehouse(settings.warehouse_path)
    if force:
        return _report(lambda: gate.manual_promotion(registry, store, version, reason or ""))
    try:
        if not settings.warehouse_path.exists():
            raise MissingTableError(f"no warehouse at {settings.warehouse_path}")
        walk_forward = gate.WalkForward.from_warehouse(store, _seasons(settings))
    except MissingTableError as error:
        return _refused(
            f"cannot evaluate version {version}: {error}. The gate scores it and the champion on the model layer's "
            "walk-forward: run the pipeline's train job first, or override the gate with --force --reason",
            2,
        )
    print(f"scoring version {version} and the champion on the current walk-forward...", file=sys.stderr)
    return _report(lambda: gate.promote(registry, store, walk_forward, version, decided_by=gate.CLI))


def rollback(settings: PipelineSettings, version: str, reason: str | None = None) -> int:
    registry = registry_for(settings)
    if not _known(registry, version):
        return 2
    return _report(lambda: gate.rollback(registry, Warehouse(settings.warehouse_path), version, reason))


def _seasons(settings: PipelineSettings) -> Seasons:
    return Seasons(settings.train_first_season, settings.validation_first_season, settings.backtest_first_season)


def _known(registry: ModelRegistry, version: str) -> bool:
    try:
        registry.version(version)
    except MlflowException as error:
        _refused(f"no version {version} of {registry.model_name!r}: {error.message}", 2)
        return False
    return True


def _report(decide: Callable[[], gate.Outcome]) -> int:
    """The decision's exit code and line; a failure is a documented code and a sentence, not a traceback."""
    try:
        outcome = decide()
    except gate.AliasNotMovedError as error:
        return _refused(str(error), 3)
    except (MissingRecipeError, MissingTableError) as error:
        return _refused(f"nothing decided: {error}", 2)
    record = outcome.record
    trail = f"recorded in {PROMOTIONS}" if outcome.recorded else f"already the last row of {PROMOTIONS}"
    if not record.promoted:
        return _refused(f"refused: {record.reason} ({trail})", 1)
    moved = f"version {record.previous_champion_version} -> {record.resulting_champion_version}"
    print(f"{record.action}: champion {moved}; {record.reason} ({trail})")
    return 0


def _refused(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code
