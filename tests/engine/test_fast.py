"""mode="fast": one cotangent, one backward, n_directions + 1 forward evaluations; failures go to the full checks."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from tests.engine import Module

MAGNITUDES = (1e-6, 1e-3, 1.0, 1e3, 1e6)


def tanh_f(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def tanh_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return g * (1 - np.tanh(x) ** 2)


def cube_f(x: np.ndarray) -> np.ndarray:
    return x**3 + x.sum(axis=-1, keepdims=True)


def cube_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return 3 * x**2 * g + g.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("mag", MAGNITUDES)
@pytest.mark.parametrize("seed", range(10))
def test_correct_gradients_pass_the_screen_itself(mag: float, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((6, 7)) * mag
    report = gradcheck.check(Module(cube_f, cube_vjp), x, mode="fast", n_directions=4, seed=seed)
    assert report.passed, report
    (result,) = report.results
    assert result.mode == "fast" and result.n_evals == 5  # 4 directions + 1, f(x) reused


@pytest.mark.parametrize("factor", [-1.0, 2.0, 0.5, 1.01])
def test_a_wrong_factor_fails_the_screen_and_the_full_checks_report_it(factor: float) -> None:
    x = np.random.default_rng(0).standard_normal((20, 30))
    report = gradcheck.check(Module(tanh_f, lambda x, g: factor * tanh_vjp(x, g)), x, mode="fast", n_directions=4)
    assert not report.passed
    assert all(r.mode in ("elementwise", "directional") for r in report.results)  # the full checks decided


def test_one_wrong_element_is_located_after_the_screen_fails() -> None:
    def wrong(x: np.ndarray, g: np.ndarray) -> np.ndarray:
        out = tanh_vjp(x, g)
        out[7, 11] *= 1.5
        return out

    x = np.random.default_rng(1).standard_normal((40, 50))
    report = gradcheck.check(Module(tanh_f, wrong), x, mode="fast", n_directions=8, seed=3)
    assert not report.passed
    assert report.failures[0].worst_index == (7, 11)


def test_evaluations_do_not_grow_with_the_size() -> None:
    counts = set()
    for n in (10, 1_000, 100_000):
        x = np.random.default_rng(n).standard_normal(n)
        counts.add(gradcheck.check(Module(tanh_f, tanh_vjp), x, mode="fast", n_directions=4).n_evals)
    assert counts == {5}


def test_a_kink_in_the_screen_falls_back_and_passes_as_a_kink() -> None:
    relu = Module(lambda x: np.maximum(x, 0), lambda x, g: g * (x > 0))
    x = np.array([[0.0, 1.0, -2.0, 0.0]])
    report = gradcheck.check(relu, x, mode="fast", n_directions=4)
    assert report.passed
