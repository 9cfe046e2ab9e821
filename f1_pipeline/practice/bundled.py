"""The bundled practice data: one gzip CSV of every season, read as text and sliced by season.

Row-level problems (a lap time that is not a time) are the cleaning's business and end in quarantine; a file
that is not this table at all (missing, not CSV, columns missing) fails here with its path, because reading it
as "no practice" would silently empty the seasons' partitions.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import polars as pl

from f1_pipeline.practice.raw import RAW_COLUMNS, RAW_SCHEMA, PracticeBatch, SeasonFetch

BUNDLED_PRACTICE = Path(str(resources.files("f1_pipeline") / "data" / "f1db_practice" / "practice.csv.gz"))


class BundledFileError(Exception):
    """The bundled practice file is missing or is not the practice table."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{message} ({path})")
        self.path = path


def read_bundled(path: Path = BUNDLED_PRACTICE) -> pl.DataFrame:
    """Every row of the bundled file, every column as text (empty fields are null)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BundledFileError(path, f"cannot read the bundled practice file: {error.strerror or error}") from error
    with contextlib.suppress(OSError, EOFError):  # a plain CSV is fine too
        data = gzip.decompress(data)
    try:
        frame = pl.read_csv(data, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise BundledFileError(path, f"the bundled practice file is not a readable CSV: {error}") from error
    missing = [column for column in RAW_COLUMNS if column not in frame.columns]
    if missing:
        raise BundledFileError(path, f"the bundled practice file lacks the columns {missing}")
    return frame.select(RAW_COLUMNS).cast(RAW_SCHEMA)


def load_bundled(path: Path, seasons: Sequence[str]) -> PracticeBatch:
    """The bundled rows of `seasons`; a season without practice (before 1988) simply has none."""
    frame = read_bundled(path).filter(pl.col("season").is_in(list(seasons)))
    return PracticeBatch(frame=frame, fetched=[SeasonFetch(season, path.as_uri(), 0) for season in seasons])
