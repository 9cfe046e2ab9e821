"""Measured numbers in the docs come from BENCHMARKS.md, never typed in again: a docs table of measurements is a
synced copy of a benchmark table, and the copy is current."""

import re
from pathlib import Path

import bench.docs_tables as docs_tables
from bench.docs_tables import BLOCK, DOCS, stale_pages

MEASUREMENT = re.compile(r"\b\d\.\d{3}\b|\b\d{1,3}\.\d%")
"""A log loss, Brier score or rate as the benchmarks print them (1.217, 55.6%)."""


def unsourced_rows(page: Path) -> list[str]:
    """Table rows holding a measurement outside every synced block of the page."""
    text = BLOCK.sub("", page.read_text())
    return [line for line in text.splitlines() if line.startswith("|") and MEASUREMENT.search(line)]


def test_every_copied_table_matches_its_benchmark():
    assert stale_pages() == [], "run `python -m bench.docs_tables` after a benchmark's --write"


def test_no_docs_table_retypes_a_measurement():
    offenders = {page.name: rows for page in DOCS.glob("*.md") if (rows := unsourced_rows(page))}
    assert offenders == {}


def test_a_changed_benchmark_makes_the_copy_stale(tmp_path, monkeypatch):
    """The check can fail: a copy edited by hand no longer matches its source."""
    page = tmp_path / "page.md"
    source = next(BLOCK.finditer(docs_tables.BENCHMARKS.read_text()))
    page.write_text(source.group(0).replace("|---", "| 9.999 |\n|---", 1))
    monkeypatch.setattr(docs_tables, "DOCS", tmp_path)
    assert docs_tables.stale_pages() == [page]
