"""A minimal HTTP/1.1 keep-alive load generator: N connections, each sending one pre-encoded GET in a loop.

httpx spends more CPU per request than the endpoints under test, and on a small machine the client shares the
cores with the server: the generator has to be cheap enough that the server, not the client, sets the pace.
So it knows only what the benchmarked endpoints need (a GET, a Content-Length body, keep-alive) and runs on
uvloop; the connections can be spread over several processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field

import uvloop

_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"
_START_DELAY_S = 1.0
"""Time the worker processes get to start before the shared start instant."""


class ProtocolError(Exception):
    """A response this client cannot read (no Content-Length); counted as a connection error, like a malformed one."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...] = ()

    def request(self) -> bytes:
        """Encoded once: building the request per send would cost the client CPU the server needs."""
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Tally:
    """What the connections of one run saw: the latency of every measured exchange, whatever its status; statuses and
    errors of the whole run, warm-up included."""

    latencies_ns: array = field(default_factory=lambda: array("q"))
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    timeouts: int = 0
    elapsed_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ns)

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 200) + (
            self.connection_errors + self.timeouts
        )

    def merge(self, other: Tally) -> None:
        self.latencies_ns.extend(other.latencies_ns)
        self.statuses.update(other.statuses)
        self.connection_errors += other.connection_errors
        self.timeouts += other.timeouts
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)


def content_length(head: bytes) -> int:
    start = head.lower().find(_CONTENT_LENGTH)
    if start < 0:
        raise ProtocolError("the response has no Content-Length")
    start += len(_CONTENT_LENGTH)
    return int(head[start : head.index(b"\r\n", start)])


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """One request on an open connection: the status and the raw head (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(_HEAD_END)
    await reader.readexactly(content_length(head))
    return int(head[9:12]), head


@dataclass(frozen=True)
class Schedule:
    """One timeline for every connection of every process: warm-up from `start_ns`, measured from `measured_ns`.

    The warm-up runs on the connections the measurement then uses, so connection set-up is never measured.
    perf_counter is CLOCK_MONOTONIC on Linux, one clock for every process, so the instants can be shared.
    """

    start_ns: int
    measured_ns: int
    deadline_ns: int
    timeout_s: float

    @classmethod
    def starting_in(cls, delay_s: float, warmup_s: float, seconds: float, timeout_s: float) -> Schedule:
        start_ns = time.perf_counter_ns() + int(delay_s * 1e9)
        measured_ns = start_ns + int(warmup_s * 1e9)
        return cls(start_ns, measured_ns, measured_ns + int(seconds * 1e9), timeout_s)


async def _exchanges(target: Target, request: bytes, schedule: Schedule, tally: Tally) -> None:
    """Requests on one connection until the deadline; each must complete within the timeout. Statuses count the
    warm-up too; latencies only the requests sent after it."""
    async with asyncio.timeout(schedule.timeout_s):
        reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        while (started := time.perf_counter_ns()) < schedule.deadline_ns:
            async with asyncio.timeout(schedule.timeout_s):
                status, _ = await exchange(reader, writer, request)
            if started >= schedule.measured_ns:
                tally.latencies_ns.append(time.perf_counter_ns() - started)
            tally.statuses[status] += 1
    finally:
        writer.close()


async def _connection(target: Target, schedule: Schedule, tally: Tally) -> None:
    """Reconnects after a failure, so one broken connection costs an error, not the rest of the run."""
    request = target.request()
    while time.perf_counter_ns() < schedule.deadline_ns:
        try:
            await _exchanges(target, request, schedule, tally)
        except TimeoutError:
            tally.timeouts += 1
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError):
            tally.connection_errors += 1


async def _load(target: Target, connections: int, schedule: Schedule) -> Tally:
    await asyncio.sleep(max(schedule.start_ns - time.perf_counter_ns(), 0) / 1e9)
    tally = Tally()
    await asyncio.gather(*(_connection(target, schedule, tally) for _ in range(connections)))
    tally.elapsed_s = (time.perf_counter_ns() - schedule.measured_ns) / 1e9
    return tally


def _run_process(target: Target, connections: int, schedule: Schedule) -> Tally:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_load(target, connections, schedule))


def run_load(
    target: Target, concurrency: int, seconds: float, warmup_s: float, processes: int = 1, timeout_s: float = 5.0
) -> Tally:
    """`concurrency` connections, split over `processes` (1: this process), warmed up then measured for `seconds`;
    errors count the warm-up too, so a server that fails while warming up does not pass."""
    schedule = Schedule.starting_in(_START_DELAY_S if processes > 1 else 0.0, warmup_s, seconds, timeout_s)
    if processes == 1:
        return _run_process(target, concurrency, schedule)
    shares = [concurrency // processes + (index < concurrency % processes) for index in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(_run_process, [(target, share, schedule) for share in shares])
    total = Tally()
    for part in parts:
        total.merge(part)
    return total


async def _sequential(target: Target, count: int) -> list[tuple[int, bytes]]:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    request, timings = target.request(), []
    try:
        for _ in range(count):
            started = time.perf_counter_ns()
            status, head = await exchange(reader, writer, request)
            timings.append((time.perf_counter_ns() - started, head if status == 200 else b""))
    finally:
        writer.close()
    return timings


def sequential(target: Target, count: int) -> list[tuple[int, bytes]]:
    """`count` requests one after the other on one connection: (latency in ns, response head; empty if not 200)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_sequential(target, count))
