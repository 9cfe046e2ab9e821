"""Load test of the authenticated next-race endpoint beside a bare FastAPI endpoint, in one run, on loopback.

Each endpoint gets its own uvicorn process (one worker, uvloop and httptools, no access log) on a free port, a
warm-up, then `--concurrency` keep-alive connections for `--seconds` from `bench.loadgen`. The API runs on the
published data and champion of the default locations, with a throwaway users database and a rate limit too
high to trip: what is measured is serving, not the limiter. Client and server share the machine's cores, and
the table says how much of them each used. Also times a single cache hit (sequential requests, one connection).
With --wrk, each endpoint is then loaded again by wrk (Debian's `wrk` package; one thread, the same connections
and seconds, `bench/wrk_auth.lua` sending the token), a second client to cross-check the generator's figures.
With --write, replaces the `api` block of BENCHMARKS.md.

    python -m bench.load [--seconds 30] [--concurrency 64] [--processes 1] [--wrk] [--write]
"""

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.cpu import CpuTime
from bench.loadgen import Tally, Target, run_load, sequential
from bench.report import machine, write_block
from f1_pipeline.settings import REPO_ROOT

HOST = "127.0.0.1"
API = "/api/v1"
NEXT_RACE = f"{API}/predictions/next-race"
BARE = "/bare"
UVICORN_OPTIONS = ("--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools")
RATE_LIMIT = 100_000_000
WARMUP_SECONDS = 2.0
READY_TIMEOUT_SECONDS = 180.0
CACHE_REQUESTS = 200
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.60
FLOOR_P95_MS = 500.0
FLOOR_CACHE_HIT_MS = 50.0
WRK_SCRIPT = REPO_ROOT / "bench" / "wrk_auth.lua"
BUSY_MACHINE_CORES = 0.25
"""More CPU than this taken by other processes during a run makes its numbers pessimistic: the block says so."""


@dataclass(frozen=True)
class Figures:
    """What one client measured on one endpoint (the project's generator or wrk)."""

    endpoint: str
    requests: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    """Failed exchanges: connection errors, timeouts, and answers the client counts as failed (the generator: any
    status but 200; wrk: any but 2xx or 3xx)."""


@dataclass(frozen=True)
class Result(Figures):
    cpu: CpuTime
    """In cores (CPU seconds over the run's wall time): how much of the machine each side took."""


@dataclass(frozen=True)
class Server:
    pid: int
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(process: subprocess.Popen, url: str) -> None:
    """Polls until 200: the API answers 503 until its champion and published data are loaded."""
    deadline, last = time.monotonic() + READY_TIMEOUT_SECONDS, "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode} before it was ready")
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:500]}"
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {READY_TIMEOUT_SECONDS:.0f} s: {last}")


@contextlib.contextmanager
def served(app: list[str], ready_path: str, env: dict[str, str]) -> Iterator[Server]:
    """A uvicorn process for the length of the block, stopped (terminate, then kill) whatever happens."""
    port = free_port()
    uvicorn = Path(sys.executable).parent / "uvicorn"
    command = [str(uvicorn), *app, "--host", HOST, "--port", str(port), *UVICORN_OPTIONS]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env)
    try:
        _wait_ready(process, f"http://{HOST}:{port}{ready_path}")
        yield Server(process.pid, port)
    finally:
        _stop(process)


def api_env(workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "F1_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "F1_CLIENT_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "F1_USERS_DATABASE_URL": f"sqlite:///{workdir / 'users.db'}",
    }


def register(port: int) -> str:
    response = httpx.post(
        f"http://{HOST}:{port}{API}/auth/register",
        json={"email": "bench@example.org", "password": "Bench-load-1"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def summarise(endpoint: str, tally: Tally, cpu: CpuTime) -> Result:
    latencies_ms = np.frombuffer(tally.latencies_ns, dtype=np.int64) / 1e6
    p50, p95, p99 = np.percentile(latencies_ms, [50, 95, 99])
    return Result(
        endpoint=endpoint,
        requests=tally.requests,
        per_second=tally.requests / tally.elapsed_s,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=latencies_ms.max(),
        errors=tally.errors,
        cpu=cpu,
    )


def measure(endpoint: str, server: Server, target: Target, args: argparse.Namespace) -> Result:
    """The measured run after a warm-up on the same connections, with the cores each side used (warm-up included)."""
    before = CpuTime.read(server.pid)
    tally = run_load(target, args.concurrency, args.seconds, WARMUP_SECONDS, args.processes)
    return summarise(endpoint, tally, CpuTime.read(server.pid).since(before))


def cache_hit_ms(target: Target) -> float:
    """Median latency of sequential requests answered from the response cache (`X-Cache: hit`)."""
    timings = sequential(target, CACHE_REQUESTS + 1)
    hits = [latency / 1e6 for latency, head in timings if b"\r\nx-cache: hit" in head.lower()]
    if len(hits) < CACHE_REQUESTS:
        raise SystemExit(f"only {len(hits)} of {CACHE_REQUESTS + 1} sequential requests were cache hits")
    return statistics.median(hits)


def run_wrk(endpoint: str, server: Server, path: str, token: str | None, args: argparse.Namespace) -> Figures:
    """wrk on the same server right after the generator's run (so warm), with as many connections for as long."""
    command = ["wrk", "-t1", f"-c{args.concurrency}", f"-d{args.seconds:.0f}s", "-s", str(WRK_SCRIPT)]
    env = {**os.environ, "WRK_TOKEN": token or ""}
    done = subprocess.run([*command, f"http://{HOST}:{server.port}{path}"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Figures(
        endpoint=endpoint,
        requests=figures["requests"],
        per_second=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=figures["non_2xx_3xx"] + figures["socket_errors"],
    )


def measure_api(args: argparse.Namespace) -> tuple[Result, float, Figures | None]:
    endpoint = f"`GET {NEXT_RACE}` (auth)"
    with (
        tempfile.TemporaryDirectory() as tmp,
        served(["--factory", "f1_serving.main:create_app"], f"{API}/health/ready", api_env(Path(tmp))) as server,
    ):
        token = register(server.port)
        target = Target(HOST, server.port, NEXT_RACE, (("Authorization", f"Bearer {token}"),))
        cache_ms = cache_hit_ms(target)
        result = measure(endpoint, server, target, args)
        return result, cache_ms, run_wrk(endpoint, server, NEXT_RACE, token, args) if args.wrk else None


def measure_bare(args: argparse.Namespace) -> tuple[Result, Figures | None]:
    endpoint = f"`GET {BARE}` (bare FastAPI)"
    with served(["bench.bare_app:app"], BARE, dict(os.environ)) as server:
        result = measure(endpoint, server, Target(HOST, server.port, BARE), args)
        return result, run_wrk(endpoint, server, BARE, None, args) if args.wrk else None


def table(results: list[Result]) -> list[str]:
    return [
        "| endpoint | requests | req/s | p50 | p95 | p99 | max | errors | CPU: server | client | others |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r.endpoint} | {r.requests:,} | {r.per_second:,.0f} | {r.p50_ms:.2f} ms | {r.p95_ms:.2f} ms "
            f"| {r.p99_ms:.2f} ms | {r.max_ms:.1f} ms | {r.errors} "
            f"| {r.cpu.server:.2f} | {r.cpu.client:.2f} | {r.cpu.others:.2f} |"
            for r in results
        ),
    ]


def _verdict(label: str, shown: str, goal: str, met: bool) -> str:
    return f"- {label}: {shown} (target {goal}): {'met' if met else 'NOT met'}"


def verdicts(api: Result, bare: Result, cache_ms: float) -> list[str]:
    ratio = api.per_second / bare.per_second
    return [
        _verdict("p99", f"{api.p99_ms:.2f} ms", f"< {TARGET_P99_MS:.0f} ms", api.p99_ms < TARGET_P99_MS),
        _verdict("throughput vs bare", f"{ratio:.0%}", f">= {TARGET_RATIO:.0%}", ratio >= TARGET_RATIO),
        _verdict("errors", f"{api.errors}", "0", api.errors == 0),
        _verdict(
            "p95 (reference floor)", f"{api.p95_ms:.2f} ms", f"< {FLOOR_P95_MS:.0f} ms", api.p95_ms < FLOOR_P95_MS
        ),
        _verdict(
            "cache hit, single request (reference floor)",
            f"{cache_ms:.2f} ms",
            f"< {FLOOR_CACHE_HIT_MS:.0f} ms",
            cache_ms < FLOOR_CACHE_HIT_MS,
        ),
    ]


def contention_note(results: list[Result]) -> list[str]:
    busiest = max(results, key=lambda result: result.cpu.others)
    if busiest.cpu.others <= BUSY_MACHINE_CORES:
        return []
    return [
        f"Other processes took {busiest.cpu.others:.2f} cores during the run of {busiest.endpoint}: these numbers "
        "understate what the machine can do; rerun on an idle machine.",
        "",
    ]


def wrk_table(api: Figures, bare: Figures, args: argparse.Namespace) -> list[str]:
    return [
        f"Cross-check with wrk (`--wrk`: `wrk -t1 -c{args.concurrency} -d{args.seconds:.0f}s -s bench/wrk_auth.lua`, "
        "on the same servers right after the runs above; wrk's own latency percentiles):",
        "",
        "| endpoint | requests | req/s | p50 | p95 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {r.endpoint} | {r.requests:,} | {r.per_second:,.0f} | {r.p50_ms:.2f} ms | {r.p95_ms:.2f} ms "
            f"| {r.p99_ms:.2f} ms | {r.max_ms:.1f} ms | {r.errors} |"
            for r in (api, bare)
        ),
        "",
        f"Throughput of the API over the bare endpoint under wrk: {api.per_second / bare.per_second:.0%}.",
        "",
    ]


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def block(
    api: Result,
    bare: Result,
    cache_ms: float,
    args: argparse.Namespace,
    checked: tuple[Figures, Figures] | None,
    load_before: str,
) -> str:
    clients = "this process" if args.processes == 1 else f"{args.processes} processes"
    return "\n".join(
        [
            f"{args.concurrency} keep-alive connections for {args.seconds:.0f} s per endpoint after a "
            f"{WARMUP_SECONDS:.0f} s warm-up, on loopback; load generator `bench.loadgen` ({clients}, uvloop). "
            "One uvicorn worker per server (uvloop, httptools, no access log). Server and client share the "
            "machine's cores: the CPU columns are the cores the server, the load generator and every other process "
            "on the machine used during the measured run.",
            "",
            *table([api, bare]),
            "",
            f"Throughput of the API over the bare endpoint: {api.per_second / bare.per_second:.0%}. "
            f"A cache hit, one request at a time on one connection: median {cache_ms:.2f} ms of "
            f"{CACHE_REQUESTS} requests.",
            "",
            *verdicts(api, bare, cache_ms),
            "",
            *(wrk_table(*checked, args) if checked else []),
            *contention_note([api, bare]),
            f"Machine: {machine()}; load average (1, 5, 15 min) {load_before} before the runs, {_load()} after. "
            f"Measured {time.strftime('%Y-%m-%d', time.gmtime())}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=64, help="keep-alive connections")
    parser.add_argument("--processes", type=int, default=1, help="load generator processes sharing the connections")
    parser.add_argument("--wrk", action="store_true", help="cross-check each endpoint with wrk (apt-get install wrk)")
    parser.add_argument("--write", action="store_true", help="replace the api block in BENCHMARKS.md")
    args = parser.parse_args()
    load_before = _load()
    api, cache_ms, api_wrk = measure_api(args)
    bare, bare_wrk = measure_bare(args)
    checked = (api_wrk, bare_wrk) if api_wrk and bare_wrk else None
    text = block(api, bare, cache_ms, args, checked, load_before)
    print(text)
    if args.write:
        write_block("api", text)


if __name__ == "__main__":
    main()
