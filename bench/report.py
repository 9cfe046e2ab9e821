"""What every benchmark prints beside its numbers: the machine, and its block of BENCHMARKS.md."""

import os
import platform
import re
from pathlib import Path

from f1_pipeline.settings import REPO_ROOT


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def write_block(name: str, text: str) -> None:
    """Replace `<!-- bench:name -->...<!-- /bench:name -->` in BENCHMARKS.md with `text`."""
    path = REPO_ROOT / "BENCHMARKS.md"
    marker = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    block = f"<!-- bench:{name} -->\n{text}\n<!-- /bench:{name} -->"
    content = path.read_text()
    if not marker.search(content):
        raise SystemExit(f"BENCHMARKS.md has no <!-- bench:{name} --> block to replace")
    path.write_text(marker.sub(lambda _: block, content))
