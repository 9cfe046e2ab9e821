"""Scoring a race with a loaded champion: the pipeline's next-race asset and the API (after a new champion) share it,
so both say the same thing for the same rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from mlflow.pyfunc import PyFuncModel

from f1_pipeline.modeling.feature_matrix import MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.outcomes import finishing_outcomes
from f1_pipeline.modeling.race_trouble import TROUBLE_SHARES, TROUBLE_WINDOW, race_losses, shares_by_race, trouble_of
from f1_pipeline.modeling.reliability import ReliabilityInputs, not_classified_probabilities
from f1_pipeline.registry.tracking import model_input
from f1_pipeline.tables import RACE_RESULTS, RACES

if TYPE_CHECKING:  # the API scores with this module and never imports DuckDB
    from f1_pipeline.warehouse import Warehouse


def available_modes(rows: pl.DataFrame) -> list[Mode]:
    """Pre-qualifying always; post-qualifying only once the weekend's qualifying (the grid) is in the rows."""
    return [mode for mode in MODES if mode == "pre_qualifying" or rows["qualifying_position"].is_not_null().any()]


def score(model: PyFuncModel, rows: pl.DataFrame) -> pl.DataFrame:
    """season, round, driver_id, mode, probability for every available mode of the rows' races."""
    return pl.concat(
        pl.from_pandas(model.predict(model_input(rows), params={"mode": mode})) for mode in available_modes(rows)
    ).cast({"season": pl.Int32, "round": pl.Int32})


def with_outcomes(
    predictions: pl.DataFrame, rows: pl.DataFrame, not_classified: pl.DataFrame, history: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The scored predictions with each driver's team (from the rows scored) and what the win distribution and the
    reliability model's `not_classified` (mode, season, round, driver_id, not_classified_probability) say of the
    whole finishing order: podium, top 6, points, not classified, expected place, teammate, the team's win, and the
    race law's `trouble_share`. Rows keep their order.

    The share is the one `not_classified` carries where it has a `trouble_share` column (a published table's, so the
    API says what the pipeline said), else chosen race by race (`modeling/race_trouble.py`) from the completed races
    of the predictions themselves and, before them, of `history` (published predictions with their outcomes and
    results): the next race, which has no results, takes its share from `history`."""
    key = [*RACE_KEY, "driver_id"]
    labels = [column for column in ("won", "finish_position") if column in rows.columns]
    extra = [column for column in labels if column not in predictions.columns]
    teams = rows.select(*key, "constructor_id", *extra).unique(key)
    given = [column for column in ("not_classified_probability", "trouble_share") if column in not_classified.columns]
    failing = not_classified.select("mode", *key, *given).unique(["mode", *key])
    joined = predictions.drop(*given, strict=False).join(teams, on=key, how="left", maintain_order="left")
    joined = joined.join(failing, on=["mode", *key], how="left", maintain_order="left")
    missing = joined.filter(pl.col("not_classified_probability").is_null())
    if not missing.is_empty():
        first = missing.row(0, named=True)
        raise ValueError(
            f"no reliability for {missing.height} prediction(s), e.g. {first['driver_id']} in "
            f"{first['season']}/{first['round']} ({first['mode']})"
        )
    return (
        pl.concat(
            _mode_outcomes(group, mode, history)
            for (mode,), group in joined.with_row_index("_row").group_by("mode", maintain_order=True)
        )
        .sort("_row")
        .drop("_row", *extra)
    )


def _mode_outcomes(group: pl.DataFrame, mode: str, history: pl.DataFrame | None) -> pl.DataFrame:
    """One mode's rows with their outcomes, each race in the law of its share (given, or chosen here)."""
    shares = TROUBLE_SHARES[mode]
    if "trouble_share" not in group.columns and len(shares) > 1:
        return _in_chosen_laws(group, mode, history)
    if "trouble_share" not in group.columns:
        group = group.with_columns(trouble_share=pl.lit(shares[0], pl.Float64))
    return pl.concat(
        finishing_outcomes(part, by=("mode",), trouble=trouble_of(share, mode))
        for (share,), part in group.group_by("trouble_share", maintain_order=True)
    )


_HISTORY = [*RACE_KEY, "mode", "driver_id", "constructor_id", "probability", "not_classified_probability"]


def _in_chosen_laws(group: pl.DataFrame, mode: str, history: pl.DataFrame | None) -> pl.DataFrame:
    """The group's rows in the law of the share each race takes from the `TROUBLE_WINDOW` completed races before it
    (the group's own and, before its first race, the history's). Every share's outcomes are computed once, for the
    history and the group together, and each row keeps its race's."""
    shares = TROUBLE_SHARES[mode]
    frame = group
    if history is not None:
        first = group.select(pl.col("season") * 1000 + pl.col("round")).min().item()
        earlier = history.filter(
            (pl.col("mode") == mode) & pl.col("won").is_not_null() & (pl.col("season") * 1000 + pl.col("round") < first)
        )
        recent = earlier.select(RACE_KEY).unique().sort(RACE_KEY).tail(TROUBLE_WINDOW)
        past = earlier.join(recent, on=RACE_KEY, how="semi").select(*_HISTORY, "won", "finish_position")
        frame = pl.concat([past, group], how="diagonal_relaxed")
    chances = {share: finishing_outcomes(frame, by=("mode",), trouble=trouble_of(share, mode)) for share in shares}
    if "won" in frame.columns:  # rows without results (none completed) take the first share, in `shares_by_race`
        completed = {share: outcomes.filter(pl.col("won").is_not_null()) for share, outcomes in chances.items()}
        chosen = shares_by_race(group, race_losses(completed), shares)
    else:
        chosen = group.select(RACE_KEY).unique().with_columns(trouble_share=pl.lit(shares[0], pl.Float64))
    columns = [*group.columns, "trouble_share", *(c for c in chances[shares[0]].columns if c not in group.columns)]
    return pl.concat(
        outcomes.filter(pl.col("_row").is_not_null())
        .join(chosen.filter(pl.col("trouble_share") == share), on=RACE_KEY, how="inner")
        .select(columns)
        for share, outcomes in chances.items()
    )


def reliability_of(store: Warehouse, rows: pl.DataFrame) -> pl.DataFrame:
    """Each row's walk-forward P(not classified), both modes (`modeling/reliability.py`), from the warehouse's
    results and calendar; `rows` are feature rows (season, round, driver_id, constructor_id, grid)."""
    inputs = ReliabilityInputs(results=store.read(RACE_RESULTS), races=store.read(RACES))
    return not_classified_probabilities(inputs, rows.select(*RACE_KEY, "driver_id", "constructor_id", "grid"))


def outcomes_of_models(predictions: pl.DataFrame, rows: pl.DataFrame, not_classified: pl.DataFrame) -> pl.DataFrame:
    """`with_outcomes` of each `model`'s walk-forward predictions (a backtest of several models)."""
    return pl.concat(
        with_outcomes(group, rows, not_classified) for _, group in predictions.group_by("model", maintain_order=True)
    )


def with_rank(predictions: pl.DataFrame) -> pl.DataFrame:
    """1 = the most likely winner, within each race and mode."""
    return predictions.with_columns(rank=pl.col("probability").rank("ordinal", descending=True).over(*RACE_KEY, "mode"))
