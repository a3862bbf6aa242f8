"""A small slice of the stability sweep (:mod:`stability.sweep`): correct layers never fail, with a margin.

The full sweep (seeds 0–49 × dev and ci, thorough on a few) is run by hand: ``python tests/stability/sweep.py``.
"""

from __future__ import annotations

import pytest

from stability.sweep import FLOOR, Layer, layers, sweep

# The layers nearest their tolerance in the sweep (the normalisations, the stabilised loss, the eˣ − 1 ELU, the
# log-sum-exp softmax) and two plain ones, on a few seeds of each profile.
SLICE = ("batchnorm_function-", "layernorm_function-", "CrossEntropyStabilised", "ELUExpMinusOne", "SoftMaxLogSumExp")


def _slice() -> list[Layer]:
    return [la for la in layers() if any(s in la.id for s in SLICE)]


@pytest.mark.slow
def test_correct_layers_keep_their_verdict_and_margin() -> None:
    chosen = _slice()
    assert len(chosen) >= 5
    summaries = sweep([(la, seed, profile) for la in chosen for seed in (1, 2) for profile in ("dev", "ci")])
    flips = {k: s.flips for k, s in summaries.items() if s.flips}
    assert not flips, f"correct layers failed: {flips}"
    thin = {k: (round(s.margin, 2), s.where) for k, s in summaries.items() if s.margin < FLOOR}
    assert not thin, f"margins below {FLOOR}: {thin}"
