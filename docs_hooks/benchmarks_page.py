"""MkDocs hook: BENCHMARKS.md, kept at the top of the repository beside the benchmark scripts, is also the site's
Benchmarks page, so the measured numbers are published once and never copied by hand."""

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "benchmarks.md", content=BENCHMARKS.read_text()))
    return files
