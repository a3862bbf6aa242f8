"""The vjp checks on functions with known derivatives: correct backward passes always pass, wrong ones always fail.

Every cell loops over many seeds (fresh inputs, cotangents and directions): a false alarm or a miss on any seed
fails the test and names it.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.engine.vjp_check import directional, elementwise, localise

from . import SMOOTH, Module, matmul, norm_f, norm_vjp, one_element, scaled, softmax_f, softmax_vjp
from . import elementwise as ew

DTYPES = [np.float64, np.float32]
MAGNITUDES = [1e-6, 1e-3, 1.0, 1e3, 1e6]
MODES = ["elementwise", "directional"]
N_SEEDS = 20


def _outcomes(module: Module, make_x, mode: str, n_seeds: int = N_SEEDS, **kw) -> list[gradcheck.Report]:
    return [gradcheck.check(module, make_x(np.random.default_rng(s)), mode=mode, seed=s, **kw) for s in range(n_seeds)]


def _assert_all(reports: list[gradcheck.Report], passed: bool) -> None:
    bad = [r for r in reports if r.passed != passed]
    assert not bad, f"{len(bad)} / {len(reports)} seeds {'failed' if passed else 'passed'}; first:\n{bad[0]}"


def _gaussian(shape, mag, dtype):
    return lambda rng: (rng.standard_normal(shape) * mag).astype(dtype)


# ---------------------------------------------------------------------------------------------- smooth functions


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mag", MAGNITUDES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", sorted(SMOOTH))
def test_correct_smooth_always_passes(fn, dtype, mag, mode):
    f, df = SMOOTH[fn]
    _assert_all(_outcomes(Module(f, ew(f, df)), _gaussian((3, 4), mag, dtype), mode), passed=True)


def _resolvable(fn: str, dtype, mag: float) -> bool:
    # sin at |x| >= 1e3 in float32: one ulp of x moves cos(x) by ~|x|·ε32 ≥ 1e-4, and rounding inside a layer
    # moves it that much, so the derived float32 tolerance is of the order of the gradient itself: no check can
    # tell a factor 2 there (the correct gradient still passes, above).
    return not (fn == "sin" and dtype is np.float32 and mag >= 1e3)


WRONG_CELLS = [
    (fn, dtype, mag) for fn in sorted(SMOOTH) for dtype in DTYPES for mag in MAGNITUDES if _resolvable(fn, dtype, mag)
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("fn", "dtype", "mag"), WRONG_CELLS)
@pytest.mark.parametrize("k", [-1.0, 2.0, 0.5, 1.01])
def test_wrong_factor_always_fails(fn, k, dtype, mag, mode):
    f, df = SMOOTH[fn]
    _assert_all(_outcomes(Module(f, scaled(ew(f, df), k)), _gaussian((3, 4), mag, dtype), mode, 5), passed=False)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mag", MAGNITUDES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_correct_transposed_and_one_element(dtype, mag, mode):
    w = np.random.default_rng(1).standard_normal((4, 4))
    f, vjp = matmul(w)
    make_x = _gaussian((3, 4), mag, dtype)
    _assert_all(_outcomes(Module(f, vjp), make_x, mode), passed=True)
    transposed = matmul(w.T)[1]
    _assert_all(_outcomes(Module(f, transposed), make_x, mode, 5), passed=False)
    _assert_all(_outcomes(Module(f, one_element(vjp, (1, 2))), make_x, mode, 5), passed=False)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("dtype", "mag"),
    [(np.float64, m) for m in (1e-3, 1.0, 10.0)]
    # At 10 the float32 softmax saturates (y_max = 1 − 6e-8): covered by the measured rounding noise.
    + [(np.float32, 1e-3), (np.float32, 1.0), (np.float32, 10.0)],
)
def test_softmax_correct_and_wrong(dtype, mag, mode):
    make_x = _gaussian((3, 5), mag, dtype)
    _assert_all(_outcomes(Module(softmax_f, softmax_vjp), make_x, mode), passed=True)
    missing_term = lambda x, dout: softmax_f(x) * dout  # noqa: E731  (drops −y⟨dout, y⟩)
    _assert_all(_outcomes(Module(softmax_f, missing_term), make_x, mode, 5), passed=False)


# ------------------------------------------------------------------------------------------------------- kinks

KINKED = {
    # name: (f, correct vjp, wrong vjp, kink location)
    "relu": (
        lambda x: np.maximum(x, 0),
        lambda x, g: g * (x > 0),
        lambda x, g: g * (x < 0),  # the other branch
        0.0,
    ),
    "abs": (np.abs, lambda x, g: g * np.sign(x), lambda x, g: -g * np.sign(x), 0.0),
    "leaky_relu": (
        lambda x: np.where(x > 0, x, 0.01 * x),
        lambda x, g: g * np.where(x > 0, 1.0, 0.01),
        lambda x, g: g * np.where(x > 0, 1.0, 0.1),  # slope 0.1 on the negative side
        0.0,
    ),
    "clamp": (
        lambda x: np.clip(x, -1, 1),
        lambda x, g: g * ((x > -1) & (x < 1)),
        lambda x, g: g * ((x <= -1) | (x >= 1)),
        1.0,
    ),
}


def _at_kink(kink: float, offset: float, dtype, shape=(3, 4), single: bool = False):
    """Half the entries at ``kink ± offset`` (random signs, and at -kink for clamp), the rest N(0, 2) with the
    first row ``[-2, -0.5, 0.5, 2]``, so that every branch has elements away from the kink (a wrong value at
    the kink itself can be a valid subgradient)."""

    def make(rng: np.random.Generator) -> np.ndarray:
        x = rng.standard_normal(shape) * 2
        x[0] = [-2.0, -0.5, 0.5, 2.0]
        near = rng.random(shape) < 0.5
        near[0] = False
        if single:  # one element near the kink (see NEAR_SEVERAL)
            near[:] = False
            near[1 + rng.integers(shape[0] - 1), rng.integers(shape[1])] = True
        side = rng.choice([-1.0, 1.0], shape)
        where = kink * rng.choice([-1.0, 1.0], shape)
        x[near] = (where + side * offset)[near]
        return x.astype(dtype)

    return make


OFFSETS = [0.0, 1e-12, 1e-9, 1e-6]
# Seeds per cell for the correct layers (a directional check at kinks splits its lines: slower).
KINK_SEEDS = {"elementwise": 50, "directional": 20}

# Known limit, not tested: in directional mode, two elements *near* (not at) their kinks, closer to them than the
# smallest step (t·rms/2^13 ≈ 1e-9·rms), whose jumps along the direction nearly cancel, make the line look smooth
# at every step while its slope at the point differs (ReLU, offsets 1e-9: ~1 direction in 400 fails). Elements
# exactly at their kinks, or one near its kink per direction, are handled (tested); elementwise mode always is.


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("name", sorted(KINKED))
def test_kinks_correct_always_pass_wrong_always_fail(name, offset, dtype, mode):
    f, good, bad, kink = KINKED[name]
    make_x = _at_kink(kink, offset, dtype, single=mode == "directional" and offset > 0)
    _assert_all(_outcomes(Module(f, good), make_x, mode, KINK_SEEDS[mode]), passed=True)
    _assert_all(_outcomes(Module(f, bad), make_x, mode, 5), passed=False)


def _max2_f(x):
    return np.maximum(x[:, 0], x[:, 1])


def _max2_vjp(x, g, wrong=False):
    first = x[:, 0] >= x[:, 1]
    if wrong:
        first = ~first  # routes the gradient to the smaller one
    return np.stack([g * first, g * ~first], axis=1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", OFFSETS)
def test_max_of_two_at_and_near_ties(offset, dtype, mode):
    def make(rng):
        x = rng.standard_normal((8, 2))
        tie = rng.random(8) < 0.5
        x[tie, 1] = x[tie, 0] + rng.choice([-1.0, 1.0], int(tie.sum())) * offset
        return x.astype(dtype)

    _assert_all(_outcomes(Module(_max2_f, _max2_vjp), make, mode, KINK_SEEDS[mode]), passed=True)
    wrong = Module(_max2_f, lambda x, g: _max2_vjp(x, g, wrong=True))
    _assert_all(_outcomes(wrong, make, mode, 5), passed=False)


def test_kinks_are_reported_as_kinks_not_passes():
    x = np.array([0.0, 1.0, -2.0, 0.0])
    r = gradcheck.check(Module(*KINKED["relu"][:2]), x).results[0]
    assert r.status == "kink" and r.n_kinks == 2 and r.passed


def _pairs_f(x: np.ndarray) -> np.ndarray:
    # Overlapping "windows" (x_i, x_{i+1}): the max of each, like max pooling with stride 1.
    return np.maximum(x[:-1], x[1:])


def _pairs_vjp(x: np.ndarray, g: np.ndarray, second: bool = False, wrong: bool = False) -> np.ndarray:
    # Each window routes its gradient to one of its maxima: the first (or, with ``second``, the last) at a tie.
    dx = np.zeros_like(x)
    left = x[:-1] > x[1:] if second else x[:-1] >= x[1:]
    idx = np.arange(len(g)) + np.where(left, 0, 1)
    np.add.at(dx, idx, g * (0.5 if wrong else 1.0))
    return dx


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("second", [False, True])
def test_tied_maxima_of_overlapping_windows_accept_any_choice_per_window(second, mode):
    # x = (1, 1, 1, ...): every window is tied, and an element shared by two windows may get one window's gradient
    # and not the other's; with cotangents of opposite signs that lies outside the one-sided slopes of ⟨c, f⟩,
    # but each output may take its own subgradient (the sum of the per-output intervals).
    def make(rng):
        return np.round(rng.standard_normal(9)).clip(0, 1) + 1.0

    _assert_all(_outcomes(Module(_pairs_f, lambda x, g: _pairs_vjp(x, g, second)), make, mode), passed=True)
    half = Module(_pairs_f, lambda x, g: _pairs_vjp(x, g, second, wrong=True))
    _assert_all(_outcomes(half, make, mode, 5), passed=False)


# ------------------------------------------------------------------------------------------- hostile regimes


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spread", [0.0, 1e-9, 1e-6, 1e-3])
@pytest.mark.parametrize("fn", ["norm", "softmax"])
def test_near_constant_inputs(fn, spread, mode):
    f, vjp = (norm_f, norm_vjp) if fn == "norm" else (softmax_f, softmax_vjp)
    make_x = lambda rng: 5.0 + spread * rng.standard_normal((3, 6))  # noqa: E731
    _assert_all(_outcomes(Module(f, vjp), make_x, mode), passed=True)
    _assert_all(_outcomes(Module(f, scaled(vjp, 2.0)), make_x, mode, 5), passed=False)


ZERO_OK = {
    "sin": (np.sin, ew(np.sin, np.cos)),
    "x_over_1px2": (SMOOTH["x_over_1px2"][0], ew(*SMOOTH["x_over_1px2"])),
    "matmul": matmul(np.random.default_rng(3).standard_normal((4, 4))),
    "softmax": (softmax_f, softmax_vjp),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", sorted(ZERO_OK))
def test_all_zero_input(fn, dtype, mode):
    f, vjp = ZERO_OK[fn]
    zeros = lambda rng: np.zeros((3, 4), dtype)  # noqa: E731
    _assert_all(_outcomes(Module(f, vjp), zeros, mode, 10), passed=True)
    _assert_all(_outcomes(Module(f, scaled(vjp, -1.0)), zeros, mode, 5), passed=False)


@pytest.mark.parametrize("mode", MODES)
def test_float32_only_layer_is_differenced_in_float32(mode):
    good = Module(np.sin, ew(np.sin, np.cos), cast=np.float32)
    reports = _outcomes(good, _gaussian((3, 4), 1.0, np.float64), mode)
    _assert_all(reports, passed=True)
    assert {r.results[0].eval_dtype for r in reports} == {"float32"}
    # Differences in float32 resolve ~κ·ε32^(2/3) ≈ 1e-3 relative: a 10 % error, not a 1 % one.
    bad = Module(np.sin, scaled(ew(np.sin, np.cos), 1.1), cast=np.float32)
    _assert_all(_outcomes(bad, _gaussian((3, 4), 1.0, np.float64), mode, 5), passed=False)


def test_dtype_generic_float32_layer_is_differenced_in_float64():
    r = gradcheck.check(Module(np.sin, ew(np.sin, np.cos)), np.ones(3, np.float32)).results[0]
    assert (r.dtype, r.eval_dtype) == ("float32", "float64")


@pytest.mark.parametrize("mode", MODES)
def test_positive_domain_log_near_zero(mode):
    def make(rng):
        return np.array([1e-300, 1e-12, 1e-8, 1e-4, 0.5, 3.0])[rng.permutation(6)] * (1 + 0.1 * rng.random(6))

    log = Module(np.log, lambda x, g: g / x)
    _assert_all(_outcomes(log, make, mode, 10, positive=("x",)), passed=True)
    wrong = Module(np.log, lambda x, g: -g / x)
    _assert_all(_outcomes(wrong, make, mode, 5, positive=("x",)), passed=False)
    off_by_one = Module(np.log, lambda x, g: g / (x + 1e-12))  # an eps in the wrong place
    _assert_all(_outcomes(off_by_one, make, mode, 5, positive=("x",)), passed=False)


# --------------------------------------------------------------------------------------------- localisation


def test_large_input_single_wrong_element_is_located_by_bisection():
    shape, where = (200, 300), (123, 45)
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal(shape)
        bad = Module(np.sin, one_element(ew(np.sin, np.cos), where, 1.5))
        r = gradcheck.check(bad, x, mode="directional", seed=seed).results[0]
        assert r.status == "fail" and r.mode == "directional"
        assert r.worst_index == where, r
        assert r.analytic == pytest.approx(1.5 * r.numeric, rel=1e-4)
        assert "bisection" in r.diagnosis
        assert gradcheck.check(Module(np.sin, ew(np.sin, np.cos)), x, mode="directional", seed=seed).passed


def test_engine_functions_directly():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7))
    y = np.sin(x)

    def vjp(c):
        return c * np.cos(x)

    kw = {"eval_dtype": np.dtype(np.float64), "analytic_dtype": np.dtype(np.float64)}
    comp = elementwise(np.sin, vjp, x, rng=rng, **kw)
    assert comp.ok.all() and comp.ok.shape == x.shape and comp.n_evals >= 4 * x.size
    comp = directional(np.sin, vjp, x, rng=rng, n_directions=8, **kw)
    assert comp.ok.all() and comp.ok.shape == (8,) and comp.located is None
    c = rng.standard_normal(x.shape)
    g = c * np.cos(x)
    g[3, 2] *= -1
    found, evals = localise(np.sin, x, c, g, y, rng=rng, eval_dtype=np.dtype(np.float64), eps_a=2.2e-16)
    assert found is not None and found.index == (3, 2) and evals < 4 * x.size
