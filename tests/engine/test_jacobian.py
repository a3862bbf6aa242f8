"""``check_jacobian``: closed-form Jacobians (one equation of a derivation) against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import InvalidArgument, check_jacobian

from . import softmax_f


def tanh_jac(x):
    return np.diag(1 - np.tanh(x) ** 2)


def softmax_jac(x):
    y = softmax_f(x)
    return np.diag(y) - np.outer(y, y)


@pytest.mark.parametrize("seed", range(10))
def test_tanh_and_softmax_jacobians_pass(seed):
    x = np.random.default_rng(seed).standard_normal(6) * 2
    for f, jac in ((np.tanh, tanh_jac), (softmax_f, softmax_jac)):
        r = check_jacobian(f, jac, x)
        assert r.passed and r.status == "pass" and r.mode == "jacobian", r
        assert r.n_checked == 36 and r.n_mismatched == 0 and r.shape == (6, 6)


def test_jacobian_as_array_and_of_matrix_input():
    x = np.random.default_rng(0).standard_normal((2, 3))
    r = check_jacobian(np.tanh, np.diag((1 - np.tanh(x) ** 2).ravel()), x)  # (6, 6) for a (2, 3) map
    assert r.passed and r.shape == (2, 3, 2, 3)


def test_wrong_softmax_jacobian_one_entry():
    x = np.random.default_rng(1).standard_normal(5)
    j = softmax_jac(x)
    j[3, 1] *= 1.5
    r = check_jacobian(softmax_f, j, x, name="eq. 17")
    assert not r.passed and r.worst_index == (3, 1) and r.n_mismatched == 1
    assert r.location == ("eq. 17",) and "(3, 1)" in r.diagnosis


def test_wrong_softmax_jacobian_missing_outer_product():
    x = np.random.default_rng(2).standard_normal(4)
    r = check_jacobian(softmax_f, lambda v: np.diag(softmax_f(v)), x)
    assert not r.passed and r.n_mismatched >= 12  # every off-diagonal entry
    i, j = r.worst_index
    assert r.analytic == pytest.approx(np.diag(softmax_f(x))[i, j])


def test_wrong_tanh_jacobian_factor_is_diagnosed():
    x = np.random.default_rng(3).standard_normal(4)
    r = check_jacobian(np.tanh, lambda v: 2 * tanh_jac(v), x)
    assert not r.passed and "times 2" in r.diagnosis


def test_transposed_jacobian_is_diagnosed():
    w = np.random.default_rng(4).standard_normal((4, 4))
    r = check_jacobian(lambda v: w @ v, w.T, np.ones(4))
    assert not r.passed and "transpose" in r.diagnosis


def test_invalid_shapes_and_dtypes_name_the_fix():
    with pytest.raises(InvalidArgument, match=r"expected f\(x\).shape \+ x.shape"):
        check_jacobian(np.tanh, np.eye(3), np.zeros(4))
    with pytest.raises(InvalidArgument, match="astype"):
        check_jacobian(np.tanh, np.eye(3), np.arange(3))


def test_relu_jacobian_at_kink_is_accepted():
    x = np.array([0.0, 1.0, -1.0])
    r = check_jacobian(lambda v: np.maximum(v, 0), lambda v: np.diag((v > 0).astype(float)), x)
    assert r.passed and r.status == "kink" and r.n_kinks == 1
