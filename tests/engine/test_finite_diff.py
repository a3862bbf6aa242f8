"""``derivative``: Richardson value, error estimate, one-sided slopes, kink detection and step refinement."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.engine.finite_diff import MAX_REFINE, derivative
from gradcheck.engine.tolerances import base_step, machine_eps

EPS = machine_eps(np.float64)
T = base_step(np.float64)


def _d(g, **kw):
    return derivative(g, g(0.0), t=T, eps=EPS, **kw)


@pytest.mark.parametrize(
    ("g", "exact"),
    [
        (lambda t: np.array([np.sin(1.0 + t)]), np.cos(1.0)),
        (lambda t: np.array([np.exp(2 * t)]), 2.0),
        (lambda t: np.array([(1 + t) ** 5]), 5.0),
        (lambda t: np.array([1e6 * np.tanh(t)]), 1e6),
    ],
)
def test_smooth_value_is_within_its_error_estimate(g, exact):
    est = _d(g)
    assert not est.kink.any()
    assert abs(est.value[0] - exact) <= 2 * est.error[0]
    assert abs(est.value[0] - exact) <= 1e-9 * abs(exact)
    assert est.left[0] == pytest.approx(exact, rel=1e-6) and est.right[0] == pytest.approx(exact, rel=1e-6)


def test_polynomial_of_degree_four_is_exact_and_converges_at_once():
    est = _d(lambda t: np.array([3 + 2 * t - t**2 + 0.5 * t**3 + 7 * t**4]))
    assert est.n_evals == 4 and est.value[0] == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize("jump", [1.0, 1e-3, 1e3])
def test_kink_at_the_point_is_detected_with_both_slopes(jump):
    est = _d(lambda t: np.array([np.where(t > 0, (1 + jump) * t, t)]))
    assert est.kink.all()
    assert sorted([est.left[0], est.right[0]]) == pytest.approx([1.0, 1.0 + jump], rel=1e-9)


def test_kink_near_the_point_is_stepped_around():
    # |t - 1e-7|: a kink inside the first step, outside the refined one; the slope at 0 is -1.
    est = _d(lambda t: np.array([abs(t - 1e-7)]))
    assert not est.kink.any() and est.value[0] == pytest.approx(-1.0) and est.step < T
    assert est.n_evals > 4


def test_refinement_is_bounded():
    rng = np.random.default_rng(0)
    est = _d(lambda t: np.array([rng.standard_normal()]))  # pure noise: never converges
    assert est.n_evals <= 4 * (MAX_REFINE + 1)


def test_reduce_sums_the_terms_and_elementwise_keeps_them():
    g = lambda t: np.array([np.sin(t), 2 * t, t**2])  # noqa: E731
    full, summed = _d(g), _d(g, reduce=True)
    assert full.value == pytest.approx([1.0, 2.0, 0.0], abs=1e-9)
    assert float(summed.value) == pytest.approx(3.0)


def test_point_magnitude_widens_the_noise_bound():
    g = lambda t: np.array([np.sin(1e6 + t)])  # noqa: E731
    plain, rounded = _d(g), _d(g, point_mag=1e6)
    assert rounded.noise[0] > plain.noise[0] * 1e5


def test_stop_at_kink_does_not_refine_around_a_kink_at_the_point():
    est = _d(lambda t: np.array([abs(t)]), stop_at_kink=True)
    assert est.kink.all() and est.kink_seen and est.n_evals <= 8
    est = _d(lambda t: np.array([abs(t) + np.sin(t)]), stop_at_kink=True)
    assert est.kink.all() and est.kink_seen and est.n_evals == 8
