"""Interleaved timing: a layer and its reference alternated in the same process, round by round.

A ratio of two medians taken minutes apart moves with whatever else the machine does in between (on a shared
machine it moved a 1.65× figure to 1.10× from one run to the next). Here every round times both sides back to
back, in alternating order (ABBA), so both see the same load, cache state and clock; the ratio of each round
is one sample and the report summarises the samples (median, bootstrap interval) in
:mod:`gradcheck.benchreport.stats`.

Timer: on the CPU, ``time.process_time`` (the CPU time of this process; with one thread the time it ran, not
the time it waited for a core); on CUDA, ``time.perf_counter`` around the calls with
``torch.cuda.synchronize()`` before the clock is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Interleaved", "calls_per_side", "interleave"]

MIN_SIDE_SECONDS = 0.02
"""Each side of a round runs its callable enough times to take at least this long (timer resolution)."""


@dataclass
class Interleaved:
    """Per-call seconds of each side, one entry per round (same index = same round)."""

    impl: list[float] = field(default_factory=list)
    ref: list[float] = field(default_factory=list)
    unit: list[float] = field(default_factory=list)
    calls: int = 1
    timer: str = "time.process_time"

    def as_info(self) -> dict[str, Any]:
        """The record stored in the benchmark's ``extra_info``."""
        info: dict[str, Any] = {"impl_times": self.impl, "ref_times": self.ref, "calls_per_round": self.calls}
        if self.unit:
            info["unit_times"] = self.unit
        return {**info, "timer": self.timer}


def _clock(device: str) -> tuple[Callable[[], float], Callable[[], None], str]:
    if device == "cuda":
        import torch

        return time.perf_counter, torch.cuda.synchronize, "time.perf_counter"
    return time.process_time, lambda: None, "time.process_time"


def calls_per_side(fn: Callable[[], Any], device: str = "cpu", min_seconds: float = MIN_SIDE_SECONDS) -> int:
    """How many calls of ``fn`` (already warmed up) take at least ``min_seconds``; at least 1."""
    clock, sync, _ = _clock(device)
    sync()
    start = clock()
    fn()
    sync()
    once = max(clock() - start, 1e-7)
    return max(1, int(min_seconds / once + 0.999))


def interleave(
    impl: Callable[[], Any],
    ref: Callable[[], Any],
    rounds: int,
    *,
    unit: Callable[[], Any] | None = None,
    device: str = "cpu",
    warmup: int = 2,
) -> Interleaved:
    """Time ``impl`` and ``ref`` (and the optional ``unit`` of work, e.g. one pass over memory) ``rounds`` times.

    Each round runs every side ``calls`` times in a row (``calls`` chosen from the slower side so that it
    takes :data:`MIN_SIDE_SECONDS`) and stores the time per call. The order alternates between rounds
    (impl first, then ref first), so a drift of the machine within a round cancels over two rounds.
    """
    clock, sync, timer = _clock(device)
    sides = [impl, ref] if unit is None else [impl, ref, unit]
    for fn in sides:
        for _ in range(warmup):
            fn()
    calls = min(calls_per_side(impl, device), calls_per_side(ref, device))
    result = Interleaved(calls=calls, timer=timer)
    stores = [result.impl, result.ref, result.unit]
    for r in range(rounds):
        order = list(range(len(sides))) if r % 2 == 0 else list(reversed(range(len(sides))))
        for i in order:
            fn = sides[i]
            sync()
            start = clock()
            for _ in range(calls):
                fn()
            sync()
            stores[i].append((clock() - start) / calls)
    return result
