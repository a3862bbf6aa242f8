"""The summary of interleaved rounds: median ratio, bootstrap interval, verdict against a bound."""

from __future__ import annotations

import statistics

import pytest

from gradcheck.benchreport.stats import RatioSummary, bootstrap_median_interval, summarize_ratio, verdict


def test_the_ratio_is_the_median_of_the_per_round_ratios_not_the_ratio_of_medians():
    impl = [1.0, 4.0, 9.0]
    ref = [1.0, 2.0, 3.0]  # per-round ratios 1, 2, 3; the medians alone would give 4 / 2 = 2 as well
    assert summarize_ratio(impl, ref).median == 2.0
    impl, ref = [2.0, 2.0, 30.0], [1.0, 1.0, 1.0]  # one round hit by load: the median ignores it
    summary = summarize_ratio(impl, ref)
    assert summary.median == 2.0 and summary.rounds == 3


def test_the_interval_contains_the_median_and_narrows_with_more_rounds():
    noisy = [1.0 + 0.1 * ((7 * i) % 11 - 5) / 5 for i in range(15)]
    low, high = bootstrap_median_interval(noisy)
    assert low <= statistics.median(noisy) <= high
    wide = high - low
    low, high = bootstrap_median_interval(noisy * 8)
    assert high - low < wide
    assert bootstrap_median_interval(noisy) == bootstrap_median_interval(noisy)  # seeded: reproducible


@pytest.mark.parametrize(
    ("low", "high", "strict", "expected"),
    [
        (1.0, 1.5, False, "met"),  # at the bound: met (≤)
        (1.0, 1.5, True, "inconclusive"),  # strict bound: 1.5 is not below 1.5
        (1.51, 1.9, False, "not met"),
        (1.4, 1.6, False, "inconclusive"),
    ],
)
def test_verdict_compares_the_whole_interval_with_the_bound(low, high, strict, expected):
    assert verdict(RatioSummary((low + high) / 2, low, high, 15), 1.5, strict=strict) == expected


def test_mismatched_or_empty_rounds_are_refused():
    with pytest.raises(ValueError, match="equally long"):
        summarize_ratio([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="equally long"):
        summarize_ratio([], [])
    with pytest.raises(ValueError, match="positive"):
        summarize_ratio([1.0], [0.0])
