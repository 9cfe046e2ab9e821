"""Live mode against a local server that answers like Jolpica: small pages, 503s and 429s along the way."""

import math

from f1_pipeline.tables import RACE_RESULTS, RACES, RAW_QUALIFYING, RAW_RACES, RAW_RESULTS, RAW_SPRINT
from tests.conftest import run_job, warehouse_of
from tests.fake_jolpica import FakeJolpica, serving

TABLES = (RAW_RACES, RAW_RESULTS, RAW_QUALIFYING, RAW_SPRINT, RACE_RESULTS, RACES)


def test_live_mode_through_a_flaky_paging_server_loads_what_the_bundled_data_loads(settings_for, tmp_path):
    app = FakeJolpica(page_cap=30, fail_every=9, rate_limit_every=13, retry_after="0")
    with serving(app) as base_url:
        live = settings_for(
            data_source="live", ergast_base_url=base_url, retry_backoff_seconds=0.001, requests_per_second=1000
        )
        result = run_job(live, "2021", "2022", job="ingest_and_clean")
    assert result.success

    bundled = settings_for(warehouse_path=tmp_path / "bundled.duckdb")
    assert run_job(bundled, "2021", "2022", job="ingest_and_clean").success

    for table in TABLES:
        query = f"select * from {table} order by all"
        assert warehouse_of(live).query(query).equals(warehouse_of(bundled).query(query)), table

    statuses = [status for _, status in app.requests]
    assert statuses.count(503) > 0 and statuses.count(429) > 0  # the failures really happened, and were retried
    rows = warehouse_of(live).query(f"select season, count(*) from {RAW_RESULTS} group by all").rows()
    pages = {
        event.partition: event.metadata["pages"].value
        for event in result.asset_materializations_for_node("raw_results")
    }
    assert pages == {season: math.ceil(count / 30) for season, count in rows}  # the server's cap, not the 100 asked


def test_live_mode_gives_up_with_a_clear_error_when_the_server_keeps_failing(settings_for):
    app = FakeJolpica(fail_every=1)
    with serving(app) as base_url:
        live = settings_for(
            data_source="live",
            ergast_base_url=base_url,
            retry_backoff_seconds=0.001,
            request_attempts=3,
            requests_per_second=1000,  # a local server: no pacing
        )
        result = run_job(live, "2021", "2021", job="ingest_and_clean")
    assert not result.success
    failures = [
        str(event.event_specific_data.error) for event in result.all_events if event.event_type_value == "STEP_FAILURE"
    ]
    assert any(
        "ErgastHTTPError" in message and "HTTP 503 after 3 attempt(s)" in message and "/2021/" in message
        for message in failures
    )
