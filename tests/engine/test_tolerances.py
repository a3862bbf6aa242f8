"""The dtype table and the step formula."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.engine.tolerances import base_step, element_scale, machine_eps


def test_machine_eps_table():
    assert machine_eps(np.float64) == 2.0**-52
    assert machine_eps(np.float32) == 2.0**-23
    assert machine_eps(np.float16) == 2.0**-10
    with pytest.raises(TypeError, match="float16/32/64"):
        machine_eps(np.int64)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_base_step_balances_truncation_and_rounding(dtype):
    eps = machine_eps(dtype)
    t = base_step(dtype)
    assert t == pytest.approx(eps ** (1 / 3))
    # t² (truncation) and ε/t (rounding) are of the same order at t.
    assert 0.5 <= t**2 / (eps / t) <= 2


def test_element_scale_follows_magnitude_with_rms_floor():
    x = np.array([0.0, 1e-9, 3.0, -4.0])
    rms = np.sqrt(np.mean(x**2))
    assert element_scale(x) == pytest.approx([rms, rms, max(3.0, rms), 4.0])
    assert element_scale(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert element_scale(np.array([1e-8, 2.0]), positive=True).tolist() == [1e-8, 2.0]


@pytest.mark.parametrize("mag", [1e-6, 1.0, 1e6])
def test_element_scale_is_scale_equivariant(mag):
    x = np.random.default_rng(0).standard_normal(10)
    assert element_scale(mag * x) == pytest.approx(mag * element_scale(x))
