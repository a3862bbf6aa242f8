"""The tolerance policy's scales, the measured rounding noise and the stabiliser fit, on plain functions."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.engine.noise import COTANGENT, jitter, perturbation_spread, split_noise, vjp_noise
from gradcheck.engine.policy import computation_scale
from gradcheck.engine.stabiliser import fit_stabiliser


def test_cotangent_key_cannot_be_an_argument_name() -> None:
    assert not COTANGENT.isidentifier()


def test_computation_scale_is_the_array_scale_and_optionally_the_constants() -> None:
    x = np.array([1e-4, -2e-4, 3e-4])
    rms = float(np.sqrt(np.mean(x**2)))
    assert computation_scale(x) == pytest.approx([rms, rms, 3e-4])
    assert computation_scale(x, constants=True).tolist() == [1.0, 1.0, 1.0]
    assert computation_scale(np.array([2000.0, -1.0]), constants=True).tolist()[0] == 2000.0
    assert computation_scale(np.array([1e-9, 0.5]), positive=True).tolist() == [1e-9, 0.5]


def test_jitter_sees_cancellation_inside_a_function_and_nothing_else() -> None:
    x = -np.abs(np.random.default_rng(0).standard_normal(50)) * 1e-4
    eps = float(np.finfo(np.float64).eps)
    exp_minus_one = jitter(lambda v: np.exp(v["x"]) - 1, {"x": x}, eps, 0)
    accurate = jitter(lambda v: np.expm1(v["x"]), {"x": x}, eps, 0)
    # eˣ − 1 keeps the rounding of eˣ ≈ 1 (ε·1, ~1e4 times the result's own ε·|x|); expm1 does not.
    assert exp_minus_one.max() > 0.1 * eps
    assert accurate.max() < 1e-3 * eps


def test_jitter_ignores_kinks() -> None:
    # At the kinks (x = 0) the second difference is the jump times the move, not rounding: it counts 0. Elsewhere
    # only the rounding of the moved points remains (an ulp or so).
    x = np.array([0.0, 1.0, -1.0, 0.0])
    noise = jitter(lambda v: np.maximum(v["x"], 0), {"x": x}, 2.2e-16, 0, scales={"x": np.ones(4)})
    assert noise[0] == 0.0 and noise[3] == 0.0 and noise.max() <= 2.2e-16


def test_perturbation_spread_has_several_samples_even_for_one_element() -> None:
    calls = []

    def fn(v: dict) -> np.ndarray:
        calls.append(1)
        return v["x"] * 3

    spread = perturbation_spread(fn, {"x": np.array([2.0])}, 1e-3, 0)
    # Moves of ε·|x| times a magnitude in [1/2, 1]: the largest of six is within that range.
    assert len(calls) >= 7 and 3e-3 <= spread[0] <= 6e-3 * (1 + 1e-12)


def test_split_noise_measures_the_rounding_of_terms_that_cancel() -> None:
    # (c + 1e8·c) − 1e8·c: exact linear map c ↦ c, rounded at ε·1e8·|c| by the cancellation.
    def vjp(c: np.ndarray) -> dict:
        big = 1e8 * c
        return {"x": (c + big) - big}

    noise = split_noise(vjp, np.array([0.3, -1.7]), 0)["x"]
    assert noise.max() > 1e-10 and noise.max() < 1e-6


def test_vjp_noise_of_a_float16_intermediate_is_capped_by_its_float64_run() -> None:
    def vjp(v: dict, c: np.ndarray) -> dict:
        return {"x": (c * v["x"]).astype(np.float16).astype(c.dtype)}

    x = np.random.default_rng(1).standard_normal(20).astype(np.float32)
    c = np.random.default_rng(2).standard_normal(20).astype(np.float32)
    level = vjp_noise(vjp, {"x": x}, c, np.float32, 0)["x"]
    # float16 rounding (1e-3 relative) is far above what 256 times the float64 run's amplification allows.
    assert level < 1e-4


def _saturated_softmax_vjp(v: dict, c: np.ndarray) -> dict:
    e = np.exp(v["x"] - v["x"].max())
    s = e / e.sum()
    return {"x": s * (c - np.dot(c, s))}


def test_vjp_noise_sees_the_rounding_of_a_sum_that_no_move_of_the_point_redraws() -> None:
    # s ≈ (1e-4, 1.5e-3, 0.998): ⟨c, s⟩ ≈ 1 rounds at ε32 and ε-moves of x barely move it, but 3c, c/7 and the
    # splits of c re-round it; the float32 gradient of the last element is off from float64 by about ε32·|c|.
    x = np.array([-4.5185, -1.7882, 4.6837], dtype=np.float32)
    c = np.array([1.0, -1.0, 1.0], dtype=np.float32)
    exact = _saturated_softmax_vjp({"x": x.astype(np.float64)}, c.astype(np.float64))["x"]
    error = np.abs(_saturated_softmax_vjp({"x": x}, c)["x"] - exact).max()
    level = vjp_noise(_saturated_softmax_vjp, {"x": x}, c, np.float32, 0)["x"]
    assert error > 0 and level >= error / 8


def test_vjp_noise_gives_no_allowance_to_a_backward_that_is_not_linear_in_its_cotangent() -> None:
    # c·|c| splits and scales unlike c: the discrepancy is the same in float64, so it is not rounding.
    def vjp(v: dict, c: np.ndarray) -> dict:
        return {"x": v["x"] * c * np.abs(c)}

    x = np.random.default_rng(3).standard_normal(8).astype(np.float32)
    c = np.random.default_rng(4).standard_normal(8).astype(np.float32)
    level = vjp_noise(vjp, {"x": x}, c, np.float32, 0)["x"]
    assert level < 1e-5 * np.abs(x * c * np.abs(c)).max()


def test_stabiliser_is_fitted_from_the_data_and_bounded() -> None:
    p = np.array([[1e-12, 0.3, 0.7 - 1e-12], [0.5, 0.5 - 1e-9, 1e-9]])

    def reference(v: dict) -> np.ndarray:
        return np.log(v["p"])

    got = np.log(p + 1e-10)
    tol = 1e-12 * np.ones_like(p)
    fit = fit_stabiliser(reference, {"p": p}, got, tol, ("p",))
    assert fit is not None and fit.c == pytest.approx(1e-10, rel=1e-3) and fit.name == "p"
    assert "1e-10" in fit.explanation()
    # An epsilon that changes every probability (1e-3) is not a stabiliser: it changes the function.
    assert fit_stabiliser(reference, {"p": p}, np.log(p + 1e-3), tol, ("p",)) is None
