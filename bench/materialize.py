"""Time the full raw + clean materialization of every season from the bundled data.

Two figures: the job executed in-process (what the pipeline costs), and the Dagster CLI command the
README gives (what a user waits for, process start-up and instance storage included). Prints a markdown
table; with --write, also replaces the table in BENCHMARKS.md.

    python -m bench.materialize [--repeat 3] [--write]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from bench.report import machine, write_block
from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs.partitions import season_partitions
from f1_pipeline.settings import REPO_ROOT, PipelineSettings
from f1_pipeline.tables import RACE_RESULTS
from f1_pipeline.warehouse import Warehouse

TARGET_SECONDS = 60.0


def seasons() -> tuple[str, str]:
    keys = season_partitions.get_partition_keys()
    return keys[0], keys[-1]


def in_process(workdir: Path) -> tuple[float, int]:
    first, last = seasons()
    settings = PipelineSettings(warehouse_path=workdir / "bench.duckdb")
    job = build_definitions(settings).resolve_job_def("ingest_and_clean")
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )
    elapsed = time.perf_counter() - started
    assert result.success
    rows = Warehouse(settings.warehouse_path, read_only=True).query(f"select count(*) from {RACE_RESULTS}").item()
    return elapsed, rows


def cli(workdir: Path) -> float:
    first, last = seasons()
    home = workdir / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    env = {**os.environ, "DAGSTER_HOME": str(home), "F1_WAREHOUSE_PATH": str(workdir / "cli.duckdb")}
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "job",
        "execute",
        "-m",
        "f1_pipeline.definitions",
        "-j",
        "ingest_and_clean",
        "--tags",
        json.dumps(tags),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, cwd=REPO_ROOT, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="replace the table in BENCHMARKS.md")
    args = parser.parse_args()
    first, last = seasons()
    runs, cli_runs, rows = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeat):
            workdir = Path(tmp) / str(attempt)
            workdir.mkdir()
            elapsed, rows = in_process(workdir)
            runs.append(elapsed)
            cli_runs.append(cli(workdir))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = "\n".join(
        [
            f"Full raw + clean materialization, seasons {first}-{last}, bundled data, {rows:,} result rows, "
            f"{args.repeat} runs. Target: under {TARGET_SECONDS:.0f} s.",
            "",
            "| measure | median | min | max |",
            "|---|---|---|---|",
            f"| in-process job (`ingest_and_clean`) | {statistics.median(runs):.1f} s | {min(runs):.1f} s "
            f"| {max(runs):.1f} s |",
            f"| `dagster job execute` CLI, start-up included | {statistics.median(cli_runs):.1f} s "
            f"| {min(cli_runs):.1f} s | {max(cli_runs):.1f} s |",
            f"| peak memory of the in-process runs | {peak_mib:.0f} MiB | | |",
            "",
            f"Machine: {machine()}. Measured {time.strftime('%Y-%m-%d', time.gmtime())}.",
        ]
    )
    print(table)
    verdict = "meets" if statistics.median(cli_runs) < TARGET_SECONDS else "MISSES"
    print(f"\n{verdict} the {TARGET_SECONDS:.0f} s target")
    if args.write:
        write_block("materialize", table)


if __name__ == "__main__":
    main()
