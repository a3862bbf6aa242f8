"""The closed forms of the seed report (/work/shared/seed/000_c2eb5ffd9404e9cd.txt), one function per equation.

Each ``eqN`` returns the right-hand side of equation N as an array laid out as ``f(x).shape + x.shape`` (what
:func:`gradcheck.check_jacobian` compares with finite differences), or, for the backward recursions, the gradient
of a scalar loss (shape of the argument). Indices follow the report: samples ``s, r`` (the batch axis, first),
features ``i, j``. Where the report has an exponent ``p`` of ``(σ² + ε)`` that it gets wrong, the function takes it
as an argument: ``REPORT = −2/3`` as printed, ``CORRECT = −3/2``.
"""

from __future__ import annotations

import numpy as np

REPORT = -2 / 3  # the exponent printed in eqs. 17, 18, 21, 22 and 24
CORRECT = -3 / 2  # d/dv v^(-1/2) = -1/2 v^(-3/2)


# --- forward maps ------------------------------------------------------------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def cross_entropy(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``L = −Σ_j t_j log x_j`` per sample; the mean over the batch for a batch (Q1.1c)."""
    per_sample = -(t * np.log(x)).sum(axis=-1)
    return np.asarray(per_sample.mean() if per_sample.ndim else per_sample)


def stats(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch mean ``μ``, biased variance ``σ²`` and ``1/√(σ² + ε)`` of ``x`` (B, D)."""
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)  # eq. 15's definition: (1/B) Σ_s (x_i^s − μ_i)²
    return mu, var, (var + eps) ** -0.5


def x_hat(x: np.ndarray, eps: float) -> np.ndarray:
    mu, _, inv = stats(x, eps)
    return (x - mu) * inv


def batchnorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """``y = γ x̂ + β`` (training mode)."""
    return gamma * x_hat(x, eps) + beta


# --- Question 1.1 a: local derivatives ------------------------------------------------------------------------


def eq1(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``∂L/∂x_i = −t_i / x_i`` (one sample; the report keeps no 1/B here)."""
    return -t / x


def eq2(z: np.ndarray) -> np.ndarray:
    """``∂x_i/∂x̃_j = softmax_i (δ_ij − softmax_j)`` for one sample; block-diagonal over a batch."""
    s = softmax(z)
    if z.ndim == 1:
        return s[:, None] * (np.eye(z.size) - s[None, :])
    b, c = z.shape
    one = np.einsum("bi,ij->bij", s, np.eye(c)) - np.einsum("bi,bj->bij", s, s)
    return np.einsum("bij,bc->bicj", one, np.eye(b))


def eq3(z: np.ndarray) -> np.ndarray:
    """``∂x_i/∂x̃_j = δ_ij 1[x̃_i > 0]``."""
    return np.diag((z > 0).astype(float))


def eq4(w: np.ndarray) -> np.ndarray:
    """``∂x̃_i/∂x_j = W_ij``."""
    return w


def eq5(x: np.ndarray, m: int) -> np.ndarray:
    """``∂x̃_i/∂W_jk = δ_ij x_k`` (the report writes ``W_ik`` on the left), laid out ``[i, j, k]``."""
    return np.einsum("ij,k->ijk", np.eye(m), x)


def eq6(m: int) -> np.ndarray:
    """``∂x̃_i/∂b_j = δ_ij``."""
    return np.eye(m)


# --- Question 1.1 b: backward recursions (gradients of a scalar loss) --------------------------------------


def eq7(dl_dx: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``∂L/∂x̃ = ∂L/∂x ⊙ softmax(x̃) − softmax(x̃) softmax(x̃)ᵀ ∂L/∂x`` (one sample)."""
    s = softmax(z)
    return dl_dx * s - s * (s @ dl_dx)


def eq8(dl_dx: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``∂L/∂x̃ = ∂L/∂x ⊙ 1[x̃ > 0]``."""
    return dl_dx * (z > 0)


def eq9(w: np.ndarray, dl_dz: np.ndarray) -> np.ndarray:
    """``∂L/∂x^(l) = (W^(l+1))ᵀ ∂L/∂x̃^(l+1)``."""
    return w.T @ dl_dz


def eq10(dl_dz: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``∂L/∂W^(l) = ∂L/∂x̃^(l) (x^(l−1))ᵀ``."""
    return np.outer(dl_dz, x)


def eq11(dl_dz: np.ndarray) -> np.ndarray:
    """``∂L/∂b^(l) = ∂L/∂x̃^(l)`` (the report's right-hand side carries a stray index ``i``)."""
    return dl_dz


# --- Question 3.2 a: batch normalisation --------------------------------------------------------------------


def eq12(g: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """``∂L/∂γ_j = Σ_s ∂L/∂y_j^s x̂_j^s``."""
    return (g * x_hat(x, eps)).sum(axis=0)


def eq13(g: np.ndarray) -> np.ndarray:
    """``∂L/∂β_j = Σ_s ∂L/∂y_j^s``."""
    return g.sum(axis=0)


def eq14(x: np.ndarray) -> np.ndarray:
    """``∂μ_i/∂x_j^r = (1/B) Σ_s δ_ij δ_rs = δ_ij / B``, laid out ``[i, r, j]``."""
    b, d = x.shape
    return np.einsum("ij,r->irj", np.eye(d), np.ones(b)) / b


def eq16(x: np.ndarray) -> np.ndarray:
    """``∂σ_i²/∂x_j^r = (2/B) Σ_s (x_i^s − μ_i)(δ_ij δ_rs − δ_ij/B)``, the sum over ``s`` kept as written."""
    b, d = x.shape
    c = x - x.mean(axis=0)
    first = np.einsum("si,ij,rs->irj", c, np.eye(d), np.eye(b))
    second = np.einsum("si,ij->ij", c, np.eye(d))[:, None, :] / b
    return 2 / b * (first - second)


def eq17(x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``∂(σ_i² + ε)^(−1/2)/∂x_j^r = −½ (σ_i² + ε)^p · (2/B) Σ_s …`` (eq. 16 substituted)."""
    _, var, _ = stats(x, eps)
    return -0.5 * (var + eps)[:, None, None] ** p * eq16(x)


def eq18(x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``= −(σ_i² + ε)^p / B · (x_i^r − μ_i) δ_ij``."""
    b, d = x.shape
    mu, var, _ = stats(x, eps)
    return -np.einsum("i,ri,ij->irj", (var + eps) ** p / b, x - mu, np.eye(d))


def eq19(x: np.ndarray, eps: float) -> np.ndarray:
    """``∂x̂/∂x = ∂(x^s/√(σ²+ε))/∂x − ∂(μ/√(σ²+ε))/∂x``, each quotient by the product rule (exponent −3/2)."""
    b, d = x.shape
    mu, _, inv = stats(x, eps)
    d_inv = eq18(x, eps, CORRECT)
    delta = np.einsum("ij,rs->sirj", np.eye(d), np.eye(b))
    d_first = delta * inv[None, :, None, None] + np.einsum("si,irj->sirj", x, d_inv)
    d_second = np.einsum("irj,s->sirj", eq14(x) * inv[:, None, None] + mu[:, None, None] * d_inv, np.ones(b))
    return d_first - d_second


def eq20(x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``= (x_i^s − μ_i) ∂(σ_i²+ε)^(−1/2)/∂x_j^r + (σ_i²+ε)^(−1/2) (δ_ij δ_rs − ∂μ_i/∂x_j^r)`` with eqs. 14, 18."""
    b, d = x.shape
    mu, _, inv = stats(x, eps)
    delta = np.einsum("ij,rs->sirj", np.eye(d), np.eye(b))
    return np.einsum("si,irj->sirj", x - mu, eq18(x, eps, p)) + inv[None, :, None, None] * (delta - eq14(x)[None])


def eq21(x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``= −(x_i^s − μ_i) (σ_i²+ε)^p / B (x_i^r − μ_i) δ_ij + (δ_ij δ_rs − δ_ij/B) / √(σ_i²+ε)``."""
    b, d = x.shape
    mu, var, inv = stats(x, eps)
    c = x - mu
    first = -np.einsum("si,i,ri,ij->sirj", c, (var + eps) ** p / b, c, np.eye(d))
    second = np.einsum("i,ij,rs->sirj", inv, np.eye(d), np.eye(b) - 1 / b)
    return first + second


def eq22(x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``= δ_ij (δ_rs − 1/B) / √(σ_i²+ε) − (1/B)(x_i^s − μ_i)(x_i^r − μ_i) δ_ij (σ_i²+ε)^p``."""
    b, d = x.shape
    mu, var, inv = stats(x, eps)
    c = x - mu
    first = np.einsum("ij,rs,i->sirj", np.eye(d), np.eye(b) - 1 / b, inv)
    second = np.einsum("si,ri,ij,i->sirj", c, c, np.eye(d), (var + eps) ** p) / b
    return first - second


def eq23(g: np.ndarray, gamma: np.ndarray, dxhat_dx: np.ndarray) -> np.ndarray:
    """``∂L/∂x_j^r = Σ_s Σ_i ∂L/∂y_i^s γ_i ∂x̂_i^s/∂x_j^r`` for a given ``∂x̂/∂x`` laid out ``[s, i, r, j]``."""
    return np.einsum("si,i,sirj->rj", g, gamma, dxhat_dx)


def eq24(g: np.ndarray, gamma: np.ndarray, x: np.ndarray, eps: float, p: float) -> np.ndarray:
    """``= Σ_s Σ_i ∂L/∂y_i^s γ_i ((δ_rs − 1/B)/√(σ_i²+ε) − (x_i^s − μ_i)(x_i^r − μ_i)/(B (σ_i²+ε)^(−p))) δ_ij``."""
    b, _ = x.shape
    mu, var, inv = stats(x, eps)
    c = x - mu
    first = np.einsum("si,i,rs,i->ri", g, gamma, np.eye(b) - 1 / b, inv)
    second = np.einsum("si,i,si,ri,i->ri", g, gamma, c, c, (var + eps) ** p) / b
    return first - second


def eq25(g: np.ndarray, gamma: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    """``= γ_j/√(σ_j²+ε) (∂L/∂y_j^r − (1/B) Σ_s ∂L/∂y_j^s − (x̂_j^r/B) Σ_s x̂_j^s ∂L/∂y_j^s)``, as printed."""
    b, _ = x.shape
    _, _, inv = stats(x, eps)
    xh = x_hat(x, eps)
    return gamma * inv * (g - g.sum(axis=0) / b - xh * (xh * g).sum(axis=0) / b)
