"""The multi-layer perceptron of the course: (Linear, ReLU) per hidden layer, then Linear and SoftMax."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from layers.numpy._base import Array, Layer, Module, positive_int
from layers.numpy.activations import ReLUModule, SoftMaxModule
from layers.numpy.linear import LinearModule


class MLP(Module):
    """Multi-layer perceptron returning class probabilities.

    Forward:  ``h₀ = x``, ``hₗ = ReLU(hₗ₋₁ Wₗᵀ + bₗ)`` per hidden layer, ``out = SoftMax(h_L W_oᵀ + b_o)``.
    Backward: the chain rule through ``self.layers`` in reverse, each layer's ``backward`` taking the
    gradient returned by the one after it; ``dout`` is ``dL/d(probabilities)``.

    ``params`` and ``grads`` hold every sub-module parameter under ``"layers.{i}.{name}"`` (the same array
    objects as ``self.layers[i].params[name]``), so the harness can treat the MLP as one module. An entry
    rebound in either dict is picked up by the next ``forward``; if both were rebound, the MLP's wins.

    Args:
        n_inputs: the input size; an int ≥ 1.
        n_hidden: the size of each hidden layer (may be empty); ints ≥ 1.
        n_classes: the number of classes; an int ≥ 1.
        rng: the generator for the weights; None draws from ``np.random``.

    Raises:
        ValueError: a size is not an int ≥ 1.

    Examples:
        >>> MLP(3, [4], 2).forward(np.ones((5, 3))).sum(axis=1)
        array([1., 1., 1., 1., 1.])
        >>> MLP(3, [0], 2)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: MLP: expected n_hidden[0] to be an int >= 1, got 0
    """

    def __init__(
        self,
        n_inputs: int,
        n_hidden: Sequence[int],
        n_classes: int,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.n_inputs = positive_int(self._name, "n_inputs", n_inputs)
        if isinstance(n_hidden, str) or not isinstance(n_hidden, Sequence):
            raise ValueError(f"{self._name}: expected n_hidden to be a list of ints >= 1, got {n_hidden!r}")
        self.n_hidden = [positive_int(self._name, f"n_hidden[{i}]", n) for i, n in enumerate(n_hidden)]
        self.n_classes = positive_int(self._name, "n_classes", n_classes)
        sizes = [self.n_inputs, *self.n_hidden]
        self.layers: list[Layer] = []
        for n_in, n_out in pairwise(sizes):
            self.layers += [LinearModule(n_in, n_out, rng=rng), ReLUModule()]
        self.layers += [LinearModule(sizes[-1], self.n_classes, rng=rng), SoftMaxModule()]
        self._slots = {
            f"layers.{i}.{name}": (layer, name) for i, layer in enumerate(self.layers) for name in layer.params
        }
        self.params = {key: layer.params[name] for key, (layer, name) in self._slots.items()}
        self.grads = {key: layer.grads[name] for key, (layer, name) in self._slots.items()}
        self._synced = dict(self.params)

    def forward(self, x: Array) -> Array:
        """Returns the class probabilities (B, n_classes); ValueError unless ``x`` is finite (B, n_inputs)."""
        out = self._input(x, ("B", self.n_inputs))
        self._sync_params()
        for layer in self.layers:
            out = layer.forward(out)
        self._cache = (out.shape, out.dtype)
        return out

    def backward(self, dout: Array) -> Array:
        """Sets every sub-module's ``grads`` (mirrored in ``self.grads``) and returns ``dx``."""
        shape, dtype = self._saved()
        dx = self._dout(dout, shape, dtype)
        for layer in reversed(self.layers):
            dx = layer.backward(dx)
        for key, (layer, name) in self._slots.items():
            self.grads[key] = layer.grads[name]
        return dx

    def _sync_params(self) -> None:
        """Propagates entries rebound in ``self.params`` down to the layers, or rebound in a layer up."""
        for key, (layer, name) in self._slots.items():
            if self.params[key] is not self._synced[key]:
                layer.params[name] = self.params[key]
            elif layer.params[name] is not self._synced[key]:
                self.params[key] = layer.params[name]
            self._synced[key] = self.params[key]
