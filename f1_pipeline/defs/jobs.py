"""Jobs, selected by group rather than by lists of names."""

from __future__ import annotations

import dagster as dg

ingest_and_clean_job = dg.define_asset_job(
    "ingest_and_clean",
    selection=dg.AssetSelection.groups("raw", "clean", "weather"),
    description="Raw seasons from the Ergast source, every clean table and the weather, with their checks.",
)

main_job = dg.define_asset_job(
    "main",
    selection=dg.AssetSelection.all(),
    description="Every asset of the pipeline for the seasons given (a range runs as one run).",
)

train_job = dg.define_asset_job(
    "train",
    selection=dg.AssetSelection.groups("ratings", "features", "models", "predictions", "serving"),
    description=(
        "Ratings, features, tuning, backtest, candidate, promotion and predictions from the clean tables, then the "
        "serving data published for the API."
    ),
)

post_qualifying_job = dg.define_asset_job(
    "post_qualifying",
    selection=dg.AssetSelection.assets(
        "raw_weather", "weather", "race_features", "next_race_predictions", "serving_data"
    ),
    description=(
        "The next race's weather forecast refreshed (its season's partition), its features with its grid, the "
        "champion's post-qualifying probabilities and the serving data published: what qualifying changes, without "
        "retraining."
    ),
)
