import asyncio

from f1_pipeline.ergast.bundled import BundledTransport
from f1_pipeline.ergast.client import RESULTS, ErgastClient
from f1_pipeline.ergast.ingest import load_seasons


def test_loading_seasons_from_synchronous_code():
    batch = load_seasons(ErgastClient(transport=BundledTransport()), RESULTS, ["2021"])
    assert batch.frame.height == 440


async def test_loading_seasons_from_inside_a_running_event_loop_as_a_notebook_does():
    assert asyncio.get_running_loop() is not None
    batch = load_seasons(ErgastClient(transport=BundledTransport()), RESULTS, ["2020", "2021"])
    assert batch.season("2020").height == 340
    assert [fetched.season for fetched in batch.fetched] == ["2020", "2021"]
