"""`python -m f1_pipeline.registry`: see the registered versions, promote through the gate, or roll back.

Rollback is deliberately ungated (it is how a bad champion is undone), promotion deliberately gated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from f1_pipeline.modeling.promotion import decide
from f1_pipeline.registry.tracking import ModelRegistry, describe, evaluation_from, registry_for
from f1_pipeline.settings import PipelineSettings


def show(registry: ModelRegistry) -> int:
    versions = registry.client().search_model_versions(f"name = '{registry.model_name}'")
    rows = [describe(registry.version(str(version.version))) for version in versions]
    print(json.dumps(sorted(rows, key=lambda row: int(row["version"])), indent=2, default=str))
    return 0


def promote(registry: ModelRegistry, version: str) -> int:
    """Move the alias to `version` only if it beats the champion on the same evaluation."""
    candidate = registry.version(version)
    champion = registry.champion()
    try:
        decision = decide(evaluation_from(candidate), None if champion is None else evaluation_from(champion))
    except ValueError as error:
        print(f"refused: {error}; materialize champion_model to re-evaluate the champion", file=sys.stderr)
        return 2
    if decision.promote:
        registry.set_champion(version)
        print(decision.reason)
        return 0
    print(f"refused: {decision.reason}", file=sys.stderr)
    return 1


def rollback(registry: ModelRegistry, version: str) -> int:
    registry.version(version)  # an unknown version fails here, before the alias moves
    previous = registry.champion()
    registry.set_champion(version)
    print(f"champion: version {None if previous is None else previous.version} -> {version}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m f1_pipeline.registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="every registered version, its aliases and evaluation")
    for name, text in (("promote", "gated: only if it beats the champion"), ("rollback", "move the alias, ungated")):
        commands.add_parser(name, help=text).add_argument("version")
    args = parser.parse_args(argv)
    registry = registry_for(PipelineSettings())
    if args.command == "show":
        return show(registry)
    return (promote if args.command == "promote" else rollback)(registry, args.version)
