"""Summaries of interleaved rounds: the median ratio, its bootstrap interval and the verdict against a bound.

Each round of an interleaved benchmark timed the layer and its reference back to back, so the ratio of one
round is one sample of "how much slower is the layer" under whatever load the machine had at that moment.
The summary is the median of these samples; its 95 % interval comes from the percentile bootstrap (the median
of ``n`` samples drawn with replacement, :data:`RESAMPLES` times, with a fixed seed so that a report renders
the same from the same data). A bound is *met* when the whole interval is at or below it, *not met* when the
whole interval is above it, and *inconclusive* when the interval contains it.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MIN_ROUNDS", "RESAMPLES", "RatioSummary", "bootstrap_median_interval", "summarize_ratio", "verdict"]

RESAMPLES = 2000
MIN_ROUNDS = 15
"""The fewest rounds a ratio is summarised from; fewer makes the verdict "not measured"."""


@dataclass(frozen=True)
class RatioSummary:
    """The median per-round ratio, its bootstrap 95 % interval and the number of rounds."""

    median: float
    low: float
    high: float
    rounds: int


def bootstrap_median_interval(
    samples: Sequence[float], level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median of ``samples``.

    Example:
        >>> bootstrap_median_interval([1.0] * 20)
        (1.0, 1.0)
    """
    if not samples:
        raise ValueError("bootstrap_median_interval: expected at least one sample, got none")
    rng = random.Random(seed)
    n = len(samples)
    medians = sorted(statistics.median(rng.choices(samples, k=n)) for _ in range(resamples))
    tail = (1.0 - level) / 2
    low = medians[max(0, math.floor(tail * resamples))]
    high = medians[min(resamples - 1, math.ceil((1.0 - tail) * resamples) - 1)]
    return low, high


def summarize_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> RatioSummary:
    """Summarise the per-round ratios ``numerator[i] / denominator[i]`` (same index = same round).

    Raises:
        ValueError: the two sequences differ in length or are empty, or a denominator is not positive.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(
            f"summarize_ratio: expected two equally long, non-empty sequences of round times, got "
            f"{len(numerator)} and {len(denominator)}"
        )
    if min(denominator) <= 0:
        raise ValueError("summarize_ratio: expected positive reference times, got a time <= 0")
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    low, high = bootstrap_median_interval(ratios)
    return RatioSummary(statistics.median(ratios), low, high, len(ratios))


def verdict(summary: RatioSummary, bound: float, *, strict: bool = False) -> str:
    """``"met"`` (interval at or below ``bound``; below it when ``strict``), ``"not met"`` (interval above
    it) or ``"inconclusive"`` (the interval contains it).

    Example:
        >>> verdict(RatioSummary(1.2, 1.1, 1.3, 15), 1.5), verdict(RatioSummary(1.6, 1.4, 1.7, 15), 1.5)
        ('met', 'inconclusive')
    """
    below = summary.high < bound if strict else summary.high <= bound
    above = summary.low >= bound if strict else summary.low > bound
    if below:
        return "met"
    if above:
        return "not met"
    return "inconclusive"
