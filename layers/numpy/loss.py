"""The cross-entropy loss of predicted probabilities against (one-hot or soft) targets."""

from __future__ import annotations

import numpy as np

from layers.numpy._base import Array, Module, as_float_array, expect_finite, expect_shape


class CrossEntropyModule(Module):
    """Mean cross-entropy over the batch; stateless (``backward`` takes ``x`` and ``y`` again).

    Forward:  ``L = −(1/B) Σ_b Σ_c y_bc log x_bc`` for probabilities ``x`` (B, C) and targets ``y`` (B, C).
    Backward: ``dL/dx_bc = −y_bc / (B x_bc)``.

    Terms with ``y_bc = 0`` count as 0 (the ``xlogy`` convention), so a probability that underflowed to 0 on a
    class that is not the target gives a finite loss and a zero gradient there.

    Examples:
        >>> x, y = np.array([[0.25, 0.75]]), np.array([[0.0, 1.0]])
        >>> bool(CrossEntropyModule().forward(x, y) == -np.log(0.75))
        True
        >>> CrossEntropyModule().forward(x, y[:, :1])  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: CrossEntropyModule.forward: expected y of shape (1, 2), got (1, 1)
    """

    def forward(self, x: Array, y: Array) -> np.floating:
        """Returns the mean cross-entropy as a 0-d scalar of the dtype of ``x``.

        Raises:
            ValueError: ``x`` is not a finite, non-negative (B, C) array, or ``y`` is not a finite array
                of the same shape.
        """
        x, y = self._operands("forward", x, y)
        log_x = np.log(x, out=np.zeros_like(x), where=y != 0)
        loss = -np.einsum("bc,bc->", y, log_x) / x.shape[0]
        return x.dtype.type(loss)

    def backward(self, x: Array, y: Array) -> Array:
        """Returns ``dx = −y / (B x)`` in the dtype of ``x`` (0 where ``y = 0``); raises as ``forward``."""
        x, y = self._operands("backward", x, y)
        dx = np.divide(y, x, out=np.zeros_like(x), where=y != 0)
        dx *= -1.0 / x.shape[0]
        return dx

    def _operands(self, method: str, x: object, y: object) -> tuple[Array, Array]:
        x = self._input(x, ("B", "C"), method=method)
        if (x < 0).any():
            raise ValueError(f"{self._name}.{method}: expected probabilities x >= 0, got min {x.min()}")
        where = f"{self._name}.{method}"
        y = as_float_array(where, "y", y)
        expect_shape(where, "y", y, x.shape)
        expect_finite(where, "y", y)
        return x, y.astype(x.dtype, copy=False)
