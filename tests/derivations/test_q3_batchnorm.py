"""Question 3.2a of the seed report (batch norm, eqs. 12–25), equation by equation, against finite differences.

The report's exponent −2/3 of (σ² + ε) in eqs. 17, 18, 21, 22 and 24 must be −3/2: each of those equations is
checked twice, the report's form flagged and the corrected form passed. Eq. 25 is right as printed.
"""

from __future__ import annotations

import numpy as np
import pytest
import seed_equations as eq
from seed_equations import CORRECT, REPORT

import gradcheck

B, D, EPS = 4, 3, 1e-5
RNG = np.random.default_rng(2018)
#: Features with variances far from 1 (an exponent slip of (σ²+ε) is invisible where σ² + ε = 1).
X = RNG.standard_normal((B, D)) * np.array([0.5, 1.5, 3.0]) + np.array([0.2, -1.0, 2.0])
GAMMA = np.array([0.7, -1.3, 2.1])
BETA = np.array([0.1, 0.2, -0.3])
G = RNG.standard_normal((B, D))  # the upstream gradient ∂L/∂y of the loss L = Σ G ⊙ y


def loss_of_x(x: np.ndarray) -> np.ndarray:
    return np.asarray((G * eq.batchnorm(x, GAMMA, BETA, EPS)).sum())


def check(f, jacobian, x, name):  # type: ignore[no-untyped-def]
    return gradcheck.check_jacobian(f, jacobian, x, name=name, batch=B)


def inv_sqrt(x: np.ndarray) -> np.ndarray:
    return eq.stats(x, EPS)[2]


def test_eq12_gamma_gradient() -> None:
    f = lambda gamma: np.asarray((G * eq.batchnorm(X, gamma, BETA, EPS)).sum())  # noqa: E731
    assert check(f, eq.eq12(G, X, EPS), GAMMA, "eq. 12").passed


def test_eq13_beta_gradient() -> None:
    f = lambda beta: np.asarray((G * eq.batchnorm(X, GAMMA, beta, EPS)).sum())  # noqa: E731
    assert check(f, eq.eq13(G), BETA, "eq. 13").passed


def test_eq14_mean() -> None:
    assert check(lambda x: x.mean(axis=0), eq.eq14, X, "eq. 14").passed


def test_eq15_is_the_biased_variance_and_eq16_its_derivative() -> None:
    np.testing.assert_allclose(eq.stats(X, EPS)[1], X.var(axis=0), rtol=1e-14)
    assert check(lambda x: eq.stats(x, EPS)[1], eq.eq16, X, "eq. 16").passed


@pytest.mark.parametrize(
    ("name", "closed_form"),
    [("eq. 17", eq.eq17), ("eq. 18", eq.eq18)],
)
def test_eqs17_18_inverse_std_flag_the_report_and_pass_the_correction(name: str, closed_form) -> None:  # type: ignore[no-untyped-def]
    report = check(inv_sqrt, lambda x: closed_form(x, EPS, REPORT), X, f"{name} (report, −2/3)")
    assert not report.passed and report.status == "fail"
    i, _, j = report.worst_index
    assert i == j  # the error sits in the only nonzero block, ∂(σ_i²+ε)^(−1/2)/∂x_i
    assert check(inv_sqrt, lambda x: closed_form(x, EPS, CORRECT), X, f"{name} (−3/2)").passed


def test_eq19_split_of_the_quotient() -> None:
    mu, _, inv = eq.stats(X, EPS)
    np.testing.assert_allclose(X * inv - mu * inv, eq.x_hat(X, EPS), rtol=1e-13)  # x̂ = x/√· − μ/√·
    assert check(lambda x: eq.x_hat(x, EPS), lambda x: eq.eq19(x, EPS), X, "eq. 19").passed


@pytest.mark.parametrize(
    ("name", "closed_form"),
    [("eq. 20", eq.eq20), ("eq. 21", eq.eq21), ("eq. 22", eq.eq22)],
)
def test_eqs20_22_x_hat_flag_the_report_and_pass_the_correction(name: str, closed_form) -> None:  # type: ignore[no-untyped-def]
    f = lambda x: eq.x_hat(x, EPS)  # noqa: E731
    # Eq. 20 has no exponent of its own; it inherits eq. 18's.
    report = check(f, lambda x: closed_form(x, EPS, REPORT), X, f"{name} (report, −2/3)")
    assert not report.passed and report.status == "fail"
    _, i, _, j = report.worst_index
    assert i == j
    assert check(f, lambda x: closed_form(x, EPS, CORRECT), X, f"{name} (−3/2)").passed


def test_eq23_chain_rule_with_the_correct_x_hat_jacobian() -> None:
    assert check(loss_of_x, eq.eq23(G, GAMMA, eq.eq22(X, EPS, CORRECT)), X, "eq. 23").passed


def test_eq24_flags_the_report_and_passes_the_correction() -> None:
    report = check(loss_of_x, lambda x: eq.eq24(G, GAMMA, x, EPS, REPORT), X, "eq. 24 (report, −2/3)")
    assert not report.passed and report.status == "fail"
    assert check(loss_of_x, lambda x: eq.eq24(G, GAMMA, x, EPS, CORRECT), X, "eq. 24 (−3/2)").passed


def test_eq25_is_right_as_printed_and_does_not_follow_from_eq24_as_printed() -> None:
    assert check(loss_of_x, lambda x: eq.eq25(G, GAMMA, x, EPS), X, "eq. 25").passed
    # x̂^s x̂^r/√(σ²+ε) = (x^s − μ)(x^r − μ)(σ²+ε)^(−3/2): eq. 25 silently uses the right exponent.
    np.testing.assert_allclose(eq.eq25(G, GAMMA, X, EPS), eq.eq24(G, GAMMA, X, EPS, CORRECT), rtol=1e-12)
    assert not np.allclose(eq.eq25(G, GAMMA, X, EPS), eq.eq24(G, GAMMA, X, EPS, REPORT), rtol=1e-3)


def test_the_exponent_slip_is_invisible_on_unit_variance_features() -> None:
    """Why the points above have variances far from 1: where σ² + ε = 1, (σ²+ε)^(−2/3) = (σ²+ε)^(−3/2)."""
    z = (X - X.mean(axis=0)) / X.std(axis=0) * np.sqrt(1 - EPS)  # σ² + ε = 1 exactly, up to rounding
    assert check(inv_sqrt, lambda x: eq.eq18(x, EPS, REPORT), z, "eq. 18 (report) at σ²+ε = 1").passed
