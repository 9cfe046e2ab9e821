"""One progress line when a stage of the pipeline starts and one when it ends, from the run's step events.

A run of the main job is ~60 Dagster steps (assets and their checks); a person wants to know which of the nine
stages it is in and how long each took, not every step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from f1_pipeline.modeling.progress import duration

STAGES = ("raw", "clean", "ratings", "features", "tuning", "backtest", "models", "predictions", "serving")
"""The stages in the order the pipeline runs them: asset groups, with the models group split in three."""
_MODEL_STAGES = {"model_tuning": "tuning", "model_backtest": "backtest"}


def stage_of(asset_name: str, group: str) -> str:
    """Tuning and the backtest are the long steps of the models group, so each is a stage of its own."""
    return _MODEL_STAGES.get(asset_name, group)


def ordered_stages(stages: set[str]) -> list[str]:
    """Known stages in pipeline order, then any other group (one added later) by name."""
    return [stage for stage in STAGES if stage in stages] + sorted(stages - set(STAGES))


@dataclass
class _Stage:
    steps: int
    finished: int = 0
    failed: list[str] = field(default_factory=list)
    started_at: float | None = None


class RunProgress:
    """Feed it step starts and ends (by step key); it answers the line to print, if any.

    A stage is done when its last step has ended, whatever order the executor runs steps in.
    """

    def __init__(self, step_stages: Mapping[str, str], clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._step_stages = dict(step_stages)
        counts: dict[str, int] = {}
        for stage in step_stages.values():
            counts[stage] = counts.get(stage, 0) + 1
        self._order = ordered_stages(set(counts))
        self._stages = {stage: _Stage(steps=counts[stage]) for stage in self._order}

    def step_started(self, step_key: str) -> str | None:
        stage = self._stage(step_key)
        if stage is None or stage.started_at is not None:
            return None
        stage.started_at = self._clock()
        return self._line(self._step_stages[step_key], "started")

    def step_ended(self, step_key: str, *, succeeded: bool) -> str | None:
        stage = self._stage(step_key)
        if stage is None:
            return None
        stage.finished += 1
        if not succeeded:
            stage.failed.append(step_key)
            return self._line(self._step_stages[step_key], f"FAILED at step {step_key}")
        if stage.finished < stage.steps:
            return None
        took = self._clock() - (stage.started_at if stage.started_at is not None else self._started)
        outcome = "done" if not stage.failed else f"ended with {len(stage.failed)} failed step(s)"
        return self._line(self._step_stages[step_key], f"{outcome} in {duration(took)} ({stage.steps} steps)")

    def unfinished(self) -> list[str]:
        """Stages with a step that never ended (skipped after a failure upstream, or the run was stopped)."""
        return [name for name in self._order if self._stages[name].finished < self._stages[name].steps]

    def failed(self) -> list[str]:
        return [name for name in self._order if self._stages[name].failed]

    def elapsed(self) -> float:
        return self._clock() - self._started

    def _stage(self, step_key: str) -> _Stage | None:
        name = self._step_stages.get(step_key)
        return None if name is None else self._stages[name]

    def _line(self, name: str, what: str) -> str:
        position = f"{self._order.index(name) + 1}/{len(self._order)}"
        return f"[{duration(self.elapsed()):>10}] {position} {name:<12} {what}"
