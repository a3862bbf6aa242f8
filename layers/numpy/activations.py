"""Element-wise activations (ReLU, LeakyReLU, ELU) and the softmax over the class axis.

The kinks follow PyTorch: at ``x = 0`` ReLU passes no gradient, LeakyReLU passes ``neg_slope`` and ELU passes
``alpha``.
"""

from __future__ import annotations

import numpy as np

from layers.numpy._base import Array, Module, finite_float


class _ElementWise(Module):
    """Shared validation of the element-wise activations: any batch-first array of rank ≥ 1."""

    def _elementwise_input(self, x: object) -> Array:
        return self._input(x, ("B", "..."))

    def _elementwise_dout(self, dout: object) -> tuple[Array, Array]:
        (x,) = self._saved()
        return x, self._dout(dout, x.shape, x.dtype)


class ReLUModule(_ElementWise):
    """Rectified linear unit.

    Forward:  ``out = max(x, 0)``.
    Backward: ``dx = dout ⊙ 1[x > 0]`` (no gradient at the kink ``x = 0``, as PyTorch).

    Examples:
        >>> ReLUModule().forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]])
        >>> ReLUModule().backward(np.ones((1, 2)))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        RuntimeError: ReLUModule.backward: called before forward
    """

    def forward(self, x: Array) -> Array:
        """Returns ``max(x, 0)``; raises ValueError for a 0-d, empty or non-finite ``x``."""
        x = self._elementwise_input(x)
        self._cache = (x,)
        return np.maximum(x, 0)

    def backward(self, dout: Array) -> Array:
        """Returns ``dout ⊙ 1[x > 0]``; RuntimeError before forward, ValueError on a dout shape mismatch."""
        x, dout = self._elementwise_dout(dout)
        return dout * (x > 0)  # a multiply by the mask: np.where branches on it and is ~10× slower


class LeakyReLUModule(_ElementWise):
    """Leaky rectified linear unit with slope ``neg_slope`` for negative inputs.

    Forward:  ``out = x`` where ``x > 0``, else ``neg_slope · x``.
    Backward: ``dx = dout`` where ``x > 0``, else ``neg_slope · dout`` (the kink ``x = 0`` takes
    ``neg_slope``, as PyTorch).

    Args:
        neg_slope: the slope for ``x ≤ 0``; any finite float.

    Raises:
        ValueError: ``neg_slope`` is not a finite float.

    Examples:
        >>> LeakyReLUModule(0.1).forward(np.array([[-1.0, 2.0]]))
        array([[-0.1,  2. ]])
        >>> LeakyReLUModule(float("nan"))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: LeakyReLUModule: expected neg_slope to be a finite float, got nan
    """

    def __init__(self, neg_slope: float) -> None:
        super().__init__()
        self.neg_slope = finite_float(self._name, "neg_slope", neg_slope)

    def forward(self, x: Array) -> Array:
        """Returns the leaky ReLU of ``x``; raises ValueError for a 0-d, empty or non-finite ``x``."""
        x = self._elementwise_input(x)
        self._cache = (x,)
        return np.where(x > 0, x, self.neg_slope * x)

    def backward(self, dout: Array) -> Array:
        """Returns ``dout`` where ``x > 0``, else ``neg_slope · dout``."""
        x, dout = self._elementwise_dout(dout)
        return np.where(x > 0, dout, self.neg_slope * dout)


class ELUModule(_ElementWise):
    """Exponential linear unit.

    Forward:  ``out = x`` where ``x > 0``, else ``α (eˣ − 1)`` (computed with ``expm1``).
    Backward: ``dx = dout`` where ``x > 0``, else ``α eˣ · dout`` (``α`` at the kink, as PyTorch).

    Args:
        alpha: the saturation value ``−α`` for ``x → −∞``; a finite float > 0. Defaults to 1.0.

    Raises:
        ValueError: ``alpha`` is not a finite float > 0.

    Examples:
        >>> ELUModule().forward(np.array([[0.0, 2.0]]))
        array([[0., 2.]])
        >>> ELUModule(alpha=0.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: ELUModule: expected alpha to be a finite float > 0, got 0.0
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = finite_float(self._name, "alpha", alpha, positive=True)

    def forward(self, x: Array) -> Array:
        """Returns the ELU of ``x``; raises ValueError for a 0-d, empty or non-finite ``x``."""
        x = self._elementwise_input(x)
        self._cache = (x,)
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, dout: Array) -> Array:
        """Returns ``dout`` where ``x > 0``, else ``α eˣ · dout``."""
        x, dout = self._elementwise_dout(dout)
        return np.where(x > 0, dout, (self.alpha * np.exp(np.minimum(x, 0))) * dout)


class SoftMaxModule(Module):
    """Softmax over the class axis 1 of a (B, C) array, stable for large logits.

    Forward:  ``s_bi = exp(x_bi − m_b) / Σ_j exp(x_bj − m_b)`` with ``m_b = max_j x_bj`` (the shift cancels).
    Backward: ``∂s_i/∂x_k = s_i (δ_ik − s_k)``, so ``dx = s ⊙ (dout − Σ_j dout_j s_j)`` row by row.

    Examples:
        >>> SoftMaxModule().forward(np.array([[1e4, 1e4]]))
        array([[0.5, 0.5]])
        >>> SoftMaxModule().forward(np.ones(3))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: SoftMaxModule.forward: expected x of shape (B, C), got (3,)
    """

    def forward(self, x: Array) -> Array:
        """Returns the row-wise softmax of ``x``; raises ValueError unless ``x`` is a finite (B, C) array."""
        x = self._input(x, ("B", "C"))
        s = x - x.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        self._cache = (s,)
        return s.copy()

    def backward(self, dout: Array) -> Array:
        """Returns ``s ⊙ (dout − Σ_j dout_j s_j)``; raises RuntimeError before forward."""
        (s,) = self._saved()
        dout = self._dout(dout, s.shape, s.dtype)
        dx: Array = dout - np.einsum("bc,bc->b", dout, s)[:, None]
        dx *= s
        return dx
