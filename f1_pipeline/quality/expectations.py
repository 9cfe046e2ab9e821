"""Running a Great Expectations 1.x suite over one frame, and summarising what it found.

GX is imported lazily (it takes seconds) and run in an ephemeral context with analytics and progress
bars off: a validation here is a function call, not a project with stores on disk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    unexpected_count: int | None
    observed: Any
    sample: list[Any]


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def markdown(self) -> str:
        lines = ["| expectation | column | passed | unexpected | observed / sample |", "|---|---|---|---|---|"]
        for outcome in self.outcomes:
            detail = outcome.sample if outcome.sample else outcome.observed
            lines.append(
                f"| {outcome.expectation} | {outcome.column} | {'yes' if outcome.success else 'NO'} "
                f"| {'' if outcome.unexpected_count is None else outcome.unexpected_count} | {detail} |"
            )
        return "\n".join(lines)


def validate(suite: str, frame: pd.DataFrame, expectations: Sequence[Expectation]) -> SuiteOutcome:
    """Validate `frame` against `expectations` and return one outcome per expectation."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(suite)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    gx_suite = gx.ExpectationSuite(name=suite, expectations=list(expectations))
    result = batch.validate(gx_suite)
    outcomes = []
    for item in result.results:
        expectation = item.expectation_config
        kwargs = expectation.kwargs if expectation is not None else {}
        details = item.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=expectation.type if expectation is not None else "?",
                column=str(kwargs.get("column") or kwargs.get("column_list") or ""),
                success=bool(item.success),
                unexpected_count=details.get("unexpected_count"),
                observed=details.get("observed_value"),
                sample=list(details.get("partial_unexpected_list") or [])[:5],
            )
        )
    return SuiteOutcome(suite=suite, rows=len(frame), outcomes=outcomes)
