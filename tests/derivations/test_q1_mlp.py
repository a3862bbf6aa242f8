"""Question 1.1 of the seed report (MLP: eqs. 1–11 and the 1/B of Q1.1c), against finite differences.

Every local derivative is a Jacobian; every backward recursion is the gradient of a scalar loss of the composed
map. All of them are right, apart from index slips in the notation (see docs/derivations.md); eq. 1 is the
gradient of one sample's loss, and applied to the batch loss without the 1/B of Q1.1c it is flagged.
"""

from __future__ import annotations

import numpy as np
import seed_equations as eq

import gradcheck

B, N_IN, N_HID, C = 4, 3, 5, 4
RNG = np.random.default_rng(10579869)
X0 = RNG.standard_normal((B, N_IN))
T = np.eye(C)[[0, 2, 3, 1]]  # one-hot targets
W1, B1 = RNG.standard_normal((N_HID, N_IN)), RNG.standard_normal(N_HID) * 0.5
W2, B2 = RNG.standard_normal((C, N_HID)) / 2, RNG.standard_normal(C) * 0.5
G = RNG.standard_normal(C)  # an upstream gradient ∂L/∂x for the single-layer recursions


def check(f, jacobian, x, name):  # type: ignore[no-untyped-def]
    return gradcheck.check_jacobian(f, jacobian, x, name=name, batch=B)


def away_from_zero(z: np.ndarray) -> np.ndarray:
    return np.where(np.abs(z) < 0.1, 0.3, z)


# --- Q1.1a: local derivatives ------------------------------------------------------------------------------


def test_eq1_cross_entropy_of_one_sample() -> None:
    x, t = eq.softmax(RNG.standard_normal(C)), T[0]
    assert check(lambda v: eq.cross_entropy(v, t), eq.eq1(x, t), x, "eq. 1").passed


def test_eq1_misses_the_batch_mean() -> None:
    x = eq.softmax(RNG.standard_normal((B, C)))
    mean_loss = lambda v: eq.cross_entropy(v, T)  # noqa: E731  (the loss of Q1.1c: a mean over the batch)
    report = check(mean_loss, eq.eq1(x, T), x, "eq. 1 on the batch loss")
    assert not report.passed
    assert "missing 1/B" in report.diagnosis
    assert check(mean_loss, eq.eq1(x, T) / B, x, "eq. 1 / B").passed


def test_eq2_softmax_jacobian_one_sample_and_batch() -> None:
    z = RNG.standard_normal(C) * 2
    assert check(eq.softmax, eq.eq2, z, "eq. 2").passed
    assert check(eq.softmax, eq.eq2, RNG.standard_normal((B, C)) * 2, "eq. 2 (batch)").passed


def test_eq3_relu_jacobian_and_its_kink() -> None:
    z = away_from_zero(RNG.standard_normal(6))
    assert check(eq.relu, eq.eq3, z, "eq. 3").status == "pass"
    z[2] = 0.0  # 1[0 > 0] = 0 is one of the valid one-sided slopes
    assert check(eq.relu, eq.eq3, z, "eq. 3 at 0").status == "kink"


def test_eq4_linear_input_and_the_transpose_slip() -> None:
    x = X0[0]
    assert check(lambda v: W1 @ v + B1, eq.eq4(W1), x, "eq. 4").passed
    square = W1[:N_IN]
    slip = check(lambda v: square @ v, square.T, x, "eq. 4 with Wᵀ")
    assert not slip.passed and "transpose" in slip.diagnosis


def test_eq5_linear_weight() -> None:
    x = X0[0]
    assert check(lambda w: w @ x + B1, eq.eq5(x, N_HID), W1, "eq. 5").passed


def test_eq6_linear_bias() -> None:
    assert check(lambda b: W1 @ X0[0] + b, eq.eq6(N_HID), B1, "eq. 6").passed


# --- Q1.1b: backward recursions ----------------------------------------------------------------------------


def test_eq7_softmax_backward_alone_and_after_eq1() -> None:
    z = RNG.standard_normal(C) * 2
    assert check(lambda v: np.asarray(G @ eq.softmax(v)), eq.eq7(G, z), z, "eq. 7").passed
    t = T[1]  # with L = CE(softmax(x̃), t), eqs. 1 and 7 give softmax(x̃) − t
    dl_dz = eq.eq7(eq.eq1(eq.softmax(z), t), z)
    np.testing.assert_allclose(dl_dz, eq.softmax(z) - t, atol=1e-14)
    assert check(lambda v: eq.cross_entropy(eq.softmax(v), t), dl_dz, z, "eqs. 1, 7").passed


def test_eq8_relu_backward() -> None:
    z = away_from_zero(RNG.standard_normal(C))
    assert check(lambda v: np.asarray(G @ eq.relu(v)), eq.eq8(G, z), z, "eq. 8").passed


def test_eqs9_to_11_linear_backward() -> None:
    x, g = X0[0], RNG.standard_normal(N_HID)
    assert check(lambda v: np.asarray(g @ (W1 @ v + B1)), eq.eq9(W1, g), x, "eq. 9").passed
    assert check(lambda w: np.asarray(g @ (w @ x + B1)), eq.eq10(g, x), W1, "eq. 10").passed
    assert check(lambda b: np.asarray(g @ (W1 @ x + b)), eq.eq11(g), B1, "eq. 11").passed


def forward(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> dict:
    z1 = w1 @ x + b1
    h = eq.relu(z1)
    z2 = w2 @ h + b2
    return {"x": x, "z1": z1, "h": h, "z2": z2, "p": eq.softmax(z2)}


def backward(a: dict, t: np.ndarray) -> dict:
    """The report's recursion for Linear → ReLU → Linear → SoftMax → cross-entropy, one sample."""
    dz2 = eq.eq7(eq.eq1(a["p"], t), a["z2"])
    dh = eq.eq9(W2, dz2)
    dz1 = eq.eq8(dh, a["z1"])
    return {
        "x": eq.eq9(W1, dz1),
        "w1": eq.eq10(dz1, a["x"]),
        "b1": eq.eq11(dz1),
        "w2": eq.eq10(dz2, a["h"]),
        "b2": eq.eq11(dz2),
    }


def network_loss(which: str, t: np.ndarray, x: np.ndarray):  # type: ignore[no-untyped-def]
    args = {"x": x, "w1": W1, "b1": B1, "w2": W2, "b2": B2}

    def f(v: np.ndarray) -> np.ndarray:
        a = forward(**{**args, which: v})
        return eq.cross_entropy(a["p"], t)

    return f, args[which]


def test_the_recursion_through_a_network_one_sample() -> None:
    x, t = X0[0], T[0]
    grads = backward(forward(x, W1, B1, W2, B2), t)
    for which, grad in grads.items():
        f, at = network_loss(which, t, x)
        assert check(f, grad, at, f"eqs. 1, 7–11: ∂L/∂{which}").passed, which


# --- Q1.1c: the batch loss is a mean ----------------------------------------------------------------------


def batch_loss(which: str):  # type: ignore[no-untyped-def]
    args = {"x": X0, "w1": W1, "b1": B1, "w2": W2, "b2": B2}

    def f(v: np.ndarray) -> np.ndarray:
        a = {**args, which: v}
        return np.asarray(
            np.mean(
                [
                    eq.cross_entropy(forward(a["x"][s], *(a[k] for k in ("w1", "b1", "w2", "b2")))["p"], T[s])
                    for s in range(B)
                ]
            )
        )

    return f, args[which]


def per_sample_grads() -> list[dict]:
    return [backward(forward(X0[s], W1, B1, W2, B2), T[s]) for s in range(B)]


def test_q1c_gradient_of_an_activation_is_one_over_b_of_its_sample() -> None:
    grads = per_sample_grads()
    f, at = batch_loss("x")
    per_row = np.stack([g["x"] for g in grads])
    assert check(f, per_row / B, at, "Q1.1c: ∂L_total/∂x^(0),r").passed
    missing = check(f, per_row, at, "Q1.1c without 1/B")
    assert not missing.passed and "missing 1/B" in missing.diagnosis


def test_q1c_gradient_of_a_parameter_is_the_mean_over_the_batch() -> None:
    grads = per_sample_grads()
    for which in ("w1", "b1", "w2", "b2"):
        f, at = batch_loss(which)
        mean = np.mean([g[which] for g in grads], axis=0)
        assert check(f, mean, at, f"Q1.1c: ∂L_total/∂{which}").passed, which
        summed = check(f, mean * B, at, f"Q1.1c: ∂L_total/∂{which} summed")
        assert not summed.passed and "missing 1/B" in summed.diagnosis, which
