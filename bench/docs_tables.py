"""The docs show the benchmarks' own tables, never retyped copies.

A table in BENCHMARKS.md between `<!-- table:NAME -->` and `<!-- /table:NAME -->` is the source; a page under docs/
holding the same markers shows a copy that `python -m bench.docs_tables` rewrites from it (after a benchmark's
`--write`), and the tests fail while a copy differs from its source or a docs table of measured numbers has no source.
"""

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
DOCS = ROOT / "docs"
BLOCK = re.compile(r"(<!-- table:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S)


def sources(text: str) -> dict[str, str]:
    """Every named table of a page: name -> the lines between its markers."""
    return {match["name"]: match["body"] for match in BLOCK.finditer(text)}


def synced(page: str, tables: dict[str, str]) -> str:
    """`page` with each block's body replaced by the source table of the same name."""

    def copy(match: re.Match[str]) -> str:
        if match["name"] not in tables:
            raise SystemExit(f"no <!-- table:{match['name']} --> in BENCHMARKS.md")
        return f"{match.group(1)}{tables[match['name']]}{match.group(4)}"

    return BLOCK.sub(copy, page)


def stale_pages() -> list[Path]:
    """The docs pages whose copies differ from BENCHMARKS.md."""
    tables = sources(BENCHMARKS.read_text())
    return [page for page in sorted(DOCS.glob("*.md")) if synced(page.read_text(), tables) != page.read_text()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only list the pages whose copies are out of date")
    args = parser.parse_args()
    stale = stale_pages()
    if args.check:
        raise SystemExit("\n".join(f"out of date: {page.relative_to(ROOT)}" for page in stale) or None)
    tables = sources(BENCHMARKS.read_text())
    for page in stale:
        page.write_text(synced(page.read_text(), tables))
        print(f"rewrote {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
