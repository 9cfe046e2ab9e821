"""The ratings' `top_drivers_now` preview lists the drivers of the current season, not the best of all time."""

import polars as pl

from f1_pipeline.defs.ratings import top_drivers_now


def history_row(entity, entity_id, season, round_, after):
    return {"entity": entity, "entity_id": entity_id, "season": season, "round": round_, "rating_after": after}


def test_only_drivers_of_the_latest_season_at_their_latest_rating():
    history = pl.DataFrame(
        [
            history_row("driver", "prost", 1993, 16, 1900.0),  # retired: his rating is frozen at a high value
            history_row("driver", "hawthorn", 1958, 11, 1850.0),
            history_row("team", "mclaren", 2026, 2, 1950.0),
            history_row("driver", "norris", 2026, 1, 1700.0),
            history_row("driver", "norris", 2026, 2, 1690.0),
            history_row("driver", "piastri", 2026, 1, 1600.0),
            history_row("driver", "piastri", 2026, 2, 1680.0),
            history_row("driver", "hamilton", 2025, 24, 1800.0),  # last season, not this one
        ]
    )
    top = top_drivers_now(history)
    assert top.select("entity_id", "rating_after").rows() == [("norris", 1690.0), ("piastri", 1680.0)]
    assert top_drivers_now(history, count=1)["entity_id"].to_list() == ["norris"]
