"""The fully connected layer ``y = x Wᵀ + b``."""

from __future__ import annotations

import numpy as np

from layers.numpy._base import Array, Module, positive_int


class LinearModule(Module):
    """Fully connected layer on a batch of row vectors.

    Forward:  ``out = x Wᵀ + b`` for ``x`` (B, in), ``W`` (out, in), ``b`` (out,).
    Backward: ``∂out_bo/∂x_bi = W_oi`` and ``∂out_bo/∂W_oi = x_bi``, so
    ``dx = dout W``, ``dW = doutᵀ x`` and ``db = Σ_b dout_b``.

    Parameters are initialised as in the course: ``weight ~ N(0, 1e-4²)`` (float64), ``bias = 0``.

    Args:
        in_features: the size ``in`` of each input row; an int ≥ 1.
        out_features: the size ``out`` of each output row; an int ≥ 1.
        rng: the generator for the weights; None draws from ``np.random`` (the course seeds that globally).

    Raises:
        ValueError: a size is not an int ≥ 1.

    Examples:
        >>> layer = LinearModule(3, 2)
        >>> layer.forward(np.ones((4, 3))).shape
        (4, 2)
        >>> layer.forward(np.ones((4, 5)))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: LinearModule.forward: expected x of shape (B, 3), got (4, 5)
    """

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = positive_int(self._name, "in_features", in_features)
        self.out_features = positive_int(self._name, "out_features", out_features)
        normal = np.random.normal if rng is None else rng.normal
        self._init_params(
            weight=normal(0.0, 1e-4, (self.out_features, self.in_features)),
            bias=np.zeros(self.out_features),
        )

    def forward(self, x: Array) -> Array:
        """Returns ``x Wᵀ + b`` in the dtype of ``x``; ValueError unless ``x`` is a finite (B, in) array."""
        x = self._input(x, ("B", self.in_features))
        weight = self._param("weight", (self.out_features, self.in_features), x.dtype)
        bias = self._param("bias", (self.out_features,), x.dtype)
        out: Array = x @ weight.T
        out += bias
        self._cache = (x, weight)
        return out

    def backward(self, dout: Array) -> Array:
        """Sets ``grads`` to ``dW = doutᵀ x``, ``db = Σ_b dout`` and returns ``dx = dout W``."""
        x, weight = self._saved()
        dout = self._dout(dout, (x.shape[0], self.out_features), x.dtype)
        self._set_grads(weight=dout.T @ x, bias=dout.sum(axis=0))
        dx: Array = dout @ weight
        return dx
