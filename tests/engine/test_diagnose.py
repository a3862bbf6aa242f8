"""The one-line diagnosis of a mismatch: factors, transpose, one branch, one element, a zero gradient."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck
from gradcheck.engine.diagnose import diagnose

from . import Module, matmul, one_element, scaled


def _diag(a, n, x=None, batch=None):
    tol = np.full(n.shape, 1e-9)
    return diagnose(a, n, tol, np.abs(a - n) <= tol, x=x, batch=batch)


N = np.random.default_rng(0).standard_normal((4, 3)) + 3.0


@pytest.mark.parametrize(
    ("k", "words"),
    [(-1.0, "sign is flipped"), (2.0, "times 2"), (0.5, "times 1/2"), (0.25, "1/B (B = 4)"), (4.0, "B (B = 4)")],
)
def test_constant_factors_are_named(k, words):
    assert words in _diag(k * N, N, batch=4)


def test_transpose():
    n = np.random.default_rng(1).standard_normal((3, 3))
    assert "transpose" in _diag(n.T, n)


def test_one_branch():
    x = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]])
    n = np.ones_like(x)
    a = np.where(x < 0, 0.5 + 0.1 * np.arange(6).reshape(2, 3), 1.0)
    assert "negative" in _diag(a, n, x=x)


def test_single_element_and_zero_gradient():
    a = N.copy()
    a[2, 1] += 1
    assert "(2, 1)" in _diag(a, N)
    assert "zero" in _diag(np.where(N > 3, 0.0, N), N)
    assert "non-finite" in _diag(np.full_like(N, np.nan), N)
    assert _diag(N, N) == ""


def test_diagnosis_reaches_the_report():
    w = np.random.default_rng(2).standard_normal((4, 4))
    f, vjp = matmul(w)
    x = np.random.default_rng(3).standard_normal((4, 4))
    cases = {
        "times 2": scaled(vjp, 2.0),
        "sign is flipped": scaled(vjp, -1.0),
        "1/B (B = 4)": scaled(vjp, 0.25),
        "(1, 2) is wrong": one_element(vjp, (1, 2), 3.0),
    }
    for words, bad in cases.items():
        r = gradcheck.check(Module(f, bad), x, mode="elementwise").results[0]
        assert r.status == "fail" and words in r.diagnosis, (words, r.diagnosis)
    relu_wrong_neg = Module(lambda v: np.maximum(v, 0), lambda v, g: g * np.where(v > 0, 1.0, 0.5))
    r = gradcheck.check(relu_wrong_neg, x, mode="elementwise").results[0]
    assert "negative" in r.diagnosis
