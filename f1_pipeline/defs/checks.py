"""Asset checks: each Great Expectations suite in `f1_pipeline.quality.suites` as one Dagster check."""

from __future__ import annotations

import dagster as dg

from f1_pipeline.defs.resources import WarehouseResource
from f1_pipeline.quality.expectations import validate
from f1_pipeline.quality.suites import SUITES, Suite


def suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite.asset,
        name=suite.check_name,
        description=suite.description,
        blocking=suite.blocking,
        additional_deps=list(suite.reads),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        store = warehouse.warehouse()
        frame = store.query(suite.query).to_pandas()

        def lookup(sql: str) -> list[object]:
            return store.query(sql).to_series().to_list()

        outcome = validate(suite.check_name, frame, suite.expectations(lookup))
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
            description=suite.description,
            metadata={
                "rows_validated": outcome.rows,
                "expectations": len(outcome.outcomes),
                "failed_expectations": len(outcome.failed),
                "unexpected_rows": sum(item.unexpected_count or 0 for item in outcome.failed),
                "threshold": "every expectation met (0 unexpected rows)",
                "details": dg.MetadataValue.md(outcome.markdown()),
            },
        )

    return _check


ASSET_CHECKS = [suite_check(suite) for suite in SUITES]
