"""Progress of long work: how long a part took and about how long the rest will take at the pace so far.

Tuning and the backtest run for minutes; a line per unit of work (an Optuna trial, a backtest season) with an
estimate of what remains tells a person watching the Dagster UI or the terminal that it moves, and how far it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Report = Callable[[str], None]
"""Where progress lines go: a Dagster step's `context.log.info`, or a terminal."""


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `1 h 02 min`: what a person reads at a glance."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Countdown:
    """Units of work done out of a total, and the time the rest should take at the mean pace so far."""

    def __init__(self, total: int, clock: Callable[[], float] = time.perf_counter) -> None:
        self.total = total
        self.done = 0
        self._clock = clock
        self._started = clock()

    def tick(self) -> str:
        """Count one unit done; `3/20, about 4 min 10 s left` (or `20/20` at the end)."""
        self.done += 1
        left = self.total - self.done
        if left <= 0:
            return f"{self.done}/{self.total}"
        pace = (self._clock() - self._started) / self.done
        return f"{self.done}/{self.total}, about {duration(pace * left)} left"
