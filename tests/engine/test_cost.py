"""The cost of directional mode does not grow with the size of the input."""

from __future__ import annotations

import numpy as np

import gradcheck

from . import SMOOTH, Module
from . import elementwise as ew


def test_directional_evaluations_do_not_grow_with_size():
    f, df = SMOOTH["x_over_1px2"]
    evals = {}
    for n in (10, 1000, 100000):
        x = np.random.default_rng(n).standard_normal(n)
        r = gradcheck.check(Module(f, ew(f, df)), x, mode="directional", n_directions=8)
        assert r.passed
        evals[n] = r.n_evals
    assert evals[100000] <= evals[10] + 8 * 4, evals  # up to one refinement per direction of noise
    assert max(evals.values()) <= 1 + 8 * 4 * 2, evals


def test_elementwise_evaluations_are_four_per_element():
    x = np.random.default_rng(0).standard_normal(20)
    r = gradcheck.check(Module(np.sin, ew(np.sin, np.cos)), x, mode="elementwise")
    assert r.n_evals == 18 + 4 * x.size  # f(x), 17 rounding probes (forward_spread), 4 per element


def test_auto_mode_switches_at_max_elementwise():
    m = Module(np.sin, ew(np.sin, np.cos))
    assert gradcheck.check(m, np.ones(64)).results[0].mode == "elementwise"
    assert gradcheck.check(m, np.ones(65)).results[0].mode == "directional"
    assert gradcheck.check(m, np.ones(65), max_elementwise=100).results[0].mode == "elementwise"
