"""Server time of every dashboard page, built from scratch and from the response cache.

The app runs in this process on the published data and champion of the default locations (or wherever the `F1_*`
variables point), with a throwaway users database and a rate limit too high to trip; requests go through the whole
ASGI stack (middleware, rate limiter, routing) without sockets, so the time is the server's. "Built" clears the
response cache before each request, so every page is rendered from the served tables; "cached" is the same page
again. With --write, replaces the `dashboard` block of BENCHMARKS.md.

    python -m bench.dashboard [--requests 30] [--write]
"""

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fastapi.testclient import TestClient

from bench.report import machine, write_block
from f1_serving.main import create_app
from f1_serving.settings import ApiSettings

TARGET_MS = 100.0
RATE_LIMIT = 100_000_000


def pages(client: TestClient) -> list[str]:
    """Every page the navigation links to, and the season pages of the backtest."""
    served = client.app.state.runtime.state.served  # type: ignore[attr-defined]
    if served is None:
        raise SystemExit(f"nothing is served: {client.app.state.runtime.state.problems}")  # type: ignore[attr-defined]
    seasons = served.table("race_predictions")["season"].unique().sort().to_list()
    paths = ["/", "/season/" + str(seasons[-1]), "/accuracy", "/ratings", "/model"]
    if "championship_odds" in served.publication.tables:
        paths.insert(1, "/championship")
    return paths


def timed(client: TestClient, path: str, clear: bool) -> tuple[float, float]:
    """Wall and CPU milliseconds of one request. The CPU time (every thread of this process: the client's and the
    app's) is what the server spent; on a busy machine the wall time also holds waits for a core."""
    cache = client.app.state.runtime.cache  # type: ignore[attr-defined]
    if clear:
        cache.clear()
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(path)
    elapsed, spent = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
    return elapsed, spent


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


Row = tuple[str, float, float, float, float, float, int]
"""page, built: wall median, wall p95, CPU median, CPU p95; cached: wall median; size in bytes."""


def measure(requests: int) -> tuple[list[Row], str]:
    with tempfile.TemporaryDirectory() as directory:
        settings = ApiSettings(
            users_database_url=f"sqlite:///{Path(directory) / 'users.db'}",
            rate_limit_per_minute=RATE_LIMIT,
            refresh_seconds=3600,
        )
        with TestClient(create_app(settings)) as client:
            served = client.app.state.runtime.state.served  # type: ignore[attr-defined]
            rows = []
            for path in pages(client):
                timed(client, path, clear=True)  # warm-up: first use of the templates and polars kernels
                built = [timed(client, path, clear=True) for _ in range(requests)]
                cached = [timed(client, path, clear=False)[0] for _ in range(requests)]
                size = len(client.get(path).content)
                wall, cpu = [run[0] for run in built], [run[1] for run in built]
                rows.append(
                    (
                        path,
                        statistics.median(wall),
                        p95(wall),
                        statistics.median(cpu),
                        p95(cpu),
                        statistics.median(cached),
                        size,
                    )
                )
            data = (
                f"snapshot {served.publication.manifest.snapshot_id}, champion v{served.champion.version}, "
                f"{served.table('race_predictions').height:,} walk-forward prediction rows"
            )
    return rows, data


def report(rows: list[Row], data: str, requests: int) -> str:
    lines = [
        f"{requests} requests per page, built and cached, in-process through the whole ASGI stack (no sockets), "
        f"on {data}.",
        "",
        "| page | built: median | built: p95 | built: CPU median | built: CPU p95 | cached: median | size |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{path}` | {wall:.1f} ms | {slow:.1f} ms | {cpu:.1f} ms | {cpu_slow:.1f} ms | {cached:.2f} ms "
        f"| {size / 1024:.0f} KiB |"
        for path, wall, slow, cpu, cpu_slow, cached, size in rows
    ]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append("")
    for label, column in (("wall", 2), ("CPU", 4)):
        slowest = max(cast(float, row[column]) for row in rows)  # the wall and CPU columns
        verdict = "met" if slowest < TARGET_MS else "NOT met"
        lines.append(
            f"- slowest page built from scratch, {label} p95: {slowest:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}"
        )
    lines += [
        "",
        f"Machine: {machine()}; load average {load} at the end of the run. Measured {datetime.now(UTC):%Y-%m-%d}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="replace the dashboard block of BENCHMARKS.md")
    arguments = parser.parse_args()
    rows, data = measure(arguments.requests)
    text = report(rows, data, arguments.requests)
    print(text)
    if arguments.write:
        write_block("dashboard", text)


if __name__ == "__main__":
    main()
