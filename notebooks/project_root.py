"""Run the notebooks from the project's root: Jupyter starts a notebook's kernel in the notebook's own directory
(`notebooks/`), where the pipeline's default locations (`warehouse/f1.duckdb`, `mlruns/`, relative to the working
directory like every default in f1_pipeline/settings.py) do not exist."""

import os
from pathlib import Path

MARKER = "pyproject.toml"


def work_from_project_root() -> Path:
    """Move the kernel to the project's root (the parent of `notebooks/` holding pyproject.toml) and return it; a
    kernel already working elsewhere is left where it is."""
    here = Path.cwd()
    if here.name == "notebooks" and (here.parent / MARKER).is_file():
        os.chdir(here.parent)
    return Path.cwd()
