"""CPU time of the server, of the load generator and of the whole machine, from /proc (Linux only).

Client and server share the machine's cores in a loopback benchmark, and other work on the machine takes from
both: a result is read beside how much CPU each side had.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """User + system seconds of a process so far (fields 14 and 15 of its stat, counted after the command name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _own_cpu() -> float:
    """This process and its finished children: the load generator, its worker processes included."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _machine_busy() -> float:
    """Busy seconds of every core (all but idle and iowait), whoever used them."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuTime:
    """Server, load generator and the whole machine: the rest is what other processes took from the run."""

    server: float
    client: float
    machine: float
    wall: float = 0.0

    @property
    def others(self) -> float:
        return max(self.machine - self.server - self.client, 0.0)

    @classmethod
    def read(cls, server_pid: int) -> CpuTime:
        return cls(_process_cpu(server_pid), _own_cpu(), _machine_busy(), time.monotonic())

    def since(self, earlier: CpuTime) -> CpuTime:
        """Cores used between `earlier` and this reading: CPU seconds over wall seconds."""
        seconds = self.wall - earlier.wall
        return CpuTime(
            (self.server - earlier.server) / seconds,
            (self.client - earlier.client) / seconds,
            (self.machine - earlier.machine) / seconds,
        )
