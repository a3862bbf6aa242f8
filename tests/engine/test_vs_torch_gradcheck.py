"""Cases where ``torch.autograd.gradcheck`` (default tolerances, slow and fast mode) is wrong, and this engine
is right, on the same ``autograd.Function``s.

torch differences with a fixed absolute step ``eps=1e-6`` and accepts ``|a - n| <= atol + rtol·|n|`` with
``atol=1e-5, rtol=1e-3``. So (1) in float32 the step is ~8 ulps of an O(1) input and the difference is mostly
rounding: a correct float32 function fails; (2) at magnitudes ~1e-6 every gradient is below ``atol``: a gradient
wrong by 50 % passes; (3) fast mode projects the Jacobian on one random pair of unit vectors, so one wrong entry
of a 10⁴×10⁴ diagonal (mostly zero) Jacobian moves the projection by ~1e-4 of the entry: under the tolerance.
This engine's steps and tolerances scale with the magnitudes and dtypes, and its random directions are ±1 per
element scaled by the magnitude (each element contributes fully), so it gets all three right.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradcheck


def _function(fwd, bwd, name):
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return fwd(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return bwd(x, g)

    F.__name__ = name
    return F


Sin = _function(torch.sin, lambda x, g: g * torch.cos(x), "Sin")
Square = _function(lambda x: x * x, lambda x, g: 2 * g * x, "Square")
Square150 = _function(lambda x: x * x, lambda x, g: 3 * g * x, "Square150")  # 1.5 × the gradient


def _one_wrong(x, g):
    out = 2 * g * x
    out[0] = 1.5 * out[0]
    return out


SquareOneWrong = _function(lambda x: x * x, _one_wrong, "SquareOneWrong")


def torch_gradcheck(fn, x, fast_mode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not double precision" warning in float32
        return torch.autograd.gradcheck(fn.apply, (x.requires_grad_(),), fast_mode=fast_mode, raise_exception=False)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_float32_false_alarm_of_torch(fast_mode):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert torch_gradcheck(Sin, x.clone(), fast_mode) is False  # torch: false alarm on a correct sin
    for seed in range(10):
        x = torch.randn(3, 4, generator=torch.Generator().manual_seed(seed))
        assert gradcheck.check(Sin, x, seed=seed).passed
        assert gradcheck.check(Sin, x, seed=seed, mode="directional").passed


@pytest.mark.parametrize("fast_mode", [False, True])
def test_wrong_gradient_at_1e_minus_6_missed_by_torch(fast_mode):
    x = 1e-6 * torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch_gradcheck(Square, x.clone(), fast_mode) is True
    assert torch_gradcheck(Square150, x.clone(), fast_mode) is True  # torch: misses a 50 % error
    for mode in ("elementwise", "directional"):
        assert gradcheck.check(Square, x, mode=mode).passed
        r = gradcheck.check(Square150, x, mode=mode).results[0]
        assert r.status == "fail", r
    assert "times 3/2" in gradcheck.check(Square150, x).results[0].diagnosis


def test_one_wrong_entry_of_a_mostly_zero_jacobian_missed_by_fast_mode():
    x = torch.rand(10_000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch_gradcheck(SquareOneWrong, x.clone(), fast_mode=True) is True  # torch fast: misses it
    r = gradcheck.check(SquareOneWrong, x).results[0]
    assert r.status == "fail" and r.mode == "directional" and r.worst_index == (0,)
    assert r.analytic == pytest.approx(1.5 * r.numeric, rel=1e-6)
    assert gradcheck.check(Square, x).passed


def test_torch_slow_mode_agrees_on_a_well_scaled_float64_case():
    # Sanity: in float64 at unit scale both are right.
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch_gradcheck(Square, x.clone(), fast_mode=False) is True
    assert torch_gradcheck(Square150, x.clone(), fast_mode=False) is False
    assert gradcheck.check(Square, x).passed and not gradcheck.check(Square150, x).passed
    assert np.isfinite(gradcheck.check(Square150, x).results[0].max_abs_err)
