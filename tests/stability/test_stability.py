"""A small slice of the stability sweep (:mod:`stability.sweep`): correct layers never fail, with a margin.

The full sweep (seeds 0–49 × dev and ci, thorough on a few) is run by hand: ``python tests/stability/sweep.py``.
"""

from __future__ import annotations

import numpy as np
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


def test_a_saturated_float32_softmax_passes_input_gradient_with_a_margin() -> None:
    # s ≈ (1e-4, 1.5e-3, 0.998) in float32: s(1 − s) keeps the ε·|s| rounding of s ≈ 1, which the a-priori bound
    # (ε per term of the backward) does not count; the float32 record came within 1.2× of it. A narrow pass is
    # settled like a failure: by the float64 check and dtype parity, whose margin the record then carries.
    from gradcheck.checklist.trial import Subject, Trial
    from gradcheck.kinds import Case, get_kind
    from gradcheck.properties import load
    from gradcheck.properties.registry import PROPERTIES
    from layers import SoftMaxModule

    load()
    case = Case("softmax", {}, {"x": (1, 3)}, "near_constant", 1.0, "float32", 131660)
    trial = Trial(Subject(get_kind("softmax"), SoftMaxModule, "SoftMaxModule"), case)
    _, values = trial.build()
    assert values["x"][0, 2] > values["x"][0].max() - 1e-6 and np.ptp(values["x"][0]) > 8  # the saturated row
    outcome = PROPERTIES["input_gradient"].fn(trial)
    assert outcome.status == "pass" and outcome.margin >= FLOOR


def test_a_gradient_zero_by_cancellation_passes_in_float64() -> None:
    # Layer norm of one feature at inputs ~1000: the output is β whatever x, so the finite differences are exactly
    # 0, while the backward's terms (of size |c|/√ε_LN) cancel to a residue of 1e-14. The a-priori bound counts
    # the result, not those terms; the layer's own measured rounding, per element, covers it.
    from gradcheck.checklist.trial import Subject, Trial
    from gradcheck.kinds import Case, get_kind
    from gradcheck.properties import load
    from gradcheck.properties.registry import PROPERTIES
    from layers import CustomLayerNormManualFunction

    load()
    case = Case("layernorm_function", {"n_neurons": 1, "eps": 1e-5}, {"x": (1, 1)}, "large", 1000.0, "float64", 1)
    subject = Subject(get_kind("layernorm_function"), CustomLayerNormManualFunction, "CustomLayerNormManualFunction")
    outcome = PROPERTIES["input_gradient"].fn(Trial(subject, case))
    assert outcome.status == "pass" and outcome.margin >= FLOOR


def test_a_saturated_float32_mlp_keeps_its_batch_semantics() -> None:
    # Linear → softmax at inputs ×1000 in float32: the batch and each sample alone round the logits differently
    # (another matmul kernel for B = 1) and a saturated softmax turns that into 1e-4 of a gradient of 1e-10; the
    # layer's own measured rounding, confirmed by its float64 run, allows it.
    from gradcheck.checklist.trial import Subject, Trial
    from gradcheck.kinds import Case, get_kind
    from gradcheck.properties import load
    from gradcheck.properties.registry import PROPERTIES
    from layers import MLP

    load()
    ctor = {"n_inputs": 4, "n_hidden": [], "n_classes": 3}
    case = Case("mlp", ctor, {"x": (3, 4)}, "normal", 1000.0, "float32", 646)
    outcome = PROPERTIES["batch_semantics"].fn(Trial(Subject(get_kind("mlp"), MLP, "MLP"), case))
    assert outcome.status == "pass" and outcome.margin >= FLOOR
