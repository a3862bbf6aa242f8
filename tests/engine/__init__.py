"""Tests of the numerical engine, and the tiny modules with known derivatives they share.

Each module is a NumPy module (``forward``/``backward``, empty ``params``/``grads``) whose backward is given as a
function ``vjp(x, dout)``; :func:`wrong` derives deliberately broken variants of a correct one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Vjp = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Module:
    """``y = f(x)`` with backward ``vjp(x, dout)``; ``cast`` makes it compute in that dtype whatever ``x`` is."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], vjp: Vjp, cast: type | None = None, name: str = ""):
        self.f, self.vjp, self.cast, self.name = f, vjp, cast, name
        self.params: dict = {}
        self.grads: dict = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x.astype(self.cast) if self.cast else x
        return self.f(self.x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.vjp(self.x, dout.astype(self.x.dtype))

    def __repr__(self) -> str:
        return self.name or "Module"


def elementwise(f: Callable, df: Callable) -> Vjp:
    """The vjp of an elementwise ``f`` with derivative ``df``: ``dout·f'(x)``."""
    return lambda x, dout: dout * df(x)


# Smooth elementwise functions with their derivatives; scale-free enough to be checked at |x| from 1e-6 to 1e6.
SMOOTH: dict[str, tuple[Callable, Callable]] = {
    "cube": (lambda x: x**3, lambda x: 3 * x**2),
    "sin": (np.sin, np.cos),
    "x_over_1px2": (lambda x: x / (1 + x * x), lambda x: (1 - x * x) / (1 + x * x) ** 2),
    "x_abs_x": (lambda x: x * np.abs(x), lambda x: 2 * np.abs(x)),
}


def matmul(w: np.ndarray) -> tuple[Callable, Vjp]:
    """``y = x @ W``: ``dx = dout @ Wᵀ``."""
    return (lambda x: x @ w.astype(x.dtype)), (lambda x, dout: dout @ w.T.astype(x.dtype))


def softmax_f(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def softmax_vjp(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """``dx = y ⊙ (dout − ⟨dout, y⟩)`` per row."""
    y = softmax_f(x)
    return y * (dout - (dout * y).sum(-1, keepdims=True))


def norm_f(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def norm_vjp(x: np.ndarray, dout: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``dx = r·(dout − mean(dout) − x̂·mean(dout ⊙ x̂))`` with ``r = 1/√(var + eps)``."""
    m = x.mean(-1, keepdims=True)
    r = 1 / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)
    xh = (x - m) * r
    return r * (dout - dout.mean(-1, keepdims=True) - xh * (dout * xh).mean(-1, keepdims=True))


def scaled(vjp: Vjp, k: float) -> Vjp:
    """The gradient times ``k`` (a factor, or the sign for ``k = -1``)."""
    return lambda x, dout: k * vjp(x, dout)


def one_element(vjp: Vjp, index: tuple[int, ...], k: float = 2.0) -> Vjp:
    """The gradient with only element ``index`` multiplied by ``k`` (plus 1 where that element is 0)."""

    def bad(x: np.ndarray, dout: np.ndarray) -> np.ndarray:
        g = np.array(vjp(x, dout), copy=True)
        g[index] = g[index] * k + (1 if g[index] == 0 else 0)
        return g

    return bad
