"""Variants of the NumPy linear layer ``y = x Wᵀ + b``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from layers.numpy import LinearModule

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong


class _Linear(LinearModule):
    """The reference forward with a cache of (x, W); subclasses change the backward."""

    def grads_at(self, x, weight, dout):
        return {"weight": dout.T @ x, "bias": dout.sum(axis=0)}, dout @ weight

    def backward(self, dout):
        x, weight = self._saved()
        dout = self._dout(dout, (x.shape[0], self.out_features), x.dtype)
        grads, dx = self.grads_at(x, weight, dout)
        self._set_grads(**grads)
        return dx


class LinearBiasMean(_Linear):
    """The bias gradient averaged over the batch instead of summed."""

    def grads_at(self, x, weight, dout):
        return {"weight": dout.T @ x, "bias": dout.mean(axis=0)}, dout @ weight


class LinearWeightGradOverB(_Linear):
    """The weight gradient divided by the batch size ("the loss is a mean")."""

    def grads_at(self, x, weight, dout):
        return {"weight": dout.T @ x / x.shape[0], "bias": dout.sum(axis=0)}, dout @ weight


class LinearWeightGradTransposed(_Linear):
    """``dW = xᵀ dout`` (in, out), reshaped to the parameter's shape: right shape, wrong values."""

    def grads_at(self, x, weight, dout):
        return {"weight": (x.T @ dout).reshape(weight.shape), "bias": dout.sum(axis=0)}, dout @ weight


class LinearDxTwice(_Linear):
    """A factor 2 in dx (the derivative of a square remembered where there is none)."""

    def grads_at(self, x, weight, dout):
        return {"weight": dout.T @ x, "bias": dout.sum(axis=0)}, 2 * (dout @ weight)


class LinearSignFlip(_Linear):
    """All gradients with the wrong sign."""

    def grads_at(self, x, weight, dout):
        return {"weight": -(dout.T @ x), "bias": -dout.sum(axis=0)}, -(dout @ weight)


class LinearGradsAccumulate(_Linear):
    """``grads += ...``: gradients accumulate across backward calls."""

    def backward(self, dout):
        x, weight = self._saved()
        dout = np.asarray(dout, dtype=x.dtype)
        self.grads["weight"] = self.grads["weight"] + dout.T @ x
        self.grads["bias"] = self.grads["bias"] + dout.sum(axis=0)
        return dout @ weight


class LinearStaleCache(_Linear):
    """x is cached on the first forward only."""

    def forward(self, x):
        x = np.asarray(x)
        weight = self.params["weight"].astype(x.dtype)
        if self._cache is None:
            self._cache = (x, weight)
        return x @ weight.T + self.params["bias"].astype(x.dtype)


class LinearCopiesParamsOnce(_Linear):
    """Copies W and b at construction and never reads ``params`` again (updates are not seen)."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.W, self.b = self.params["weight"].copy(), self.params["bias"].copy()

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x, self.W.astype(x.dtype))
        return x @ self.W.T.astype(x.dtype) + self.b.astype(x.dtype)


class LinearBiasSqueezed(_Linear):
    """``db = Σ dout.squeeze()``: for one sample (or one output) the sum runs over the wrong axis."""

    def grads_at(self, x, weight, dout):
        return {"weight": dout.T @ x, "bias": np.asarray(np.sum(dout.squeeze(), axis=0))}, dout @ weight


class LinearFloat32Inside(_Linear):
    """Casts everything to float32 "to save memory", also in a float64 run; returns the input's dtype."""

    def forward(self, x):
        x = np.asarray(x)
        w32 = self.params["weight"].astype(np.float32)
        self._cache = (x.astype(np.float32), w32)
        out = x.astype(np.float32) @ w32.T + self.params["bias"].astype(np.float32)
        return out.astype(x.dtype)

    def backward(self, dout):
        x32, w32 = self._saved()
        d32 = np.asarray(dout, dtype=np.float32)
        self._set_grads(weight=d32.T @ x32, bias=d32.sum(axis=0))
        return (d32 @ w32).astype(np.asarray(dout).dtype)


class LinearWeightAlias(LinearModule):
    """Keeps ``self.W`` as an alias of ``params["weight"]`` and reads it: right while parameters are written in
    place, stale once a training loop rebinds ``params["weight"] = params["weight"] - lr * grads["weight"]``."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.W, self.b = self.params["weight"], self.params["bias"]

    def forward(self, x):
        x = np.asarray(x)
        self.x = x
        return x @ self.W.T.astype(x.dtype) + self.b.astype(x.dtype)

    def backward(self, dout):
        self.grads["weight"] = (dout.T @ self.x).astype(self.W.dtype)
        self.grads["bias"] = dout.sum(axis=0).astype(self.b.dtype)
        return dout @ self.W.astype(self.x.dtype)


class LinearEinsum(_Linear):
    """Correct: every product written with einsum, the bias gradient as ``1ᵀ dout``."""

    def grads_at(self, x, weight, dout):
        ones = np.ones(x.shape[0], dtype=x.dtype)
        return ({"weight": np.einsum("bo,bi->oi", dout, x), "bias": ones @ dout}, np.einsum("bo,oi->bi", dout, weight))


class LinearReturnsNone(LinearModule):
    """Sets the parameter gradients but returns None instead of dx (the last layer of a network needs none)."""

    def backward(self, dout):
        super().backward(dout)
        return None


class LinearPreallocatedGrads(LinearModule):
    """Correct, with a warning: weights from ``np.random.normal`` and gradient buffers from ``np.zeros`` made in
    ``__init__`` (float64) and filled in place, so a float32 run gets float64 parameter gradients (NumPy promotion,
    no precision lost)."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.params = {"weight": np.random.normal(0, 1e-4, (out_features, in_features)), "bias": np.zeros(out_features)}
        self.grads = {"weight": np.zeros((out_features, in_features)), "bias": np.zeros(out_features)}

    def forward(self, x):
        self.x = np.asarray(x)
        return self.x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"][...] = dout.T @ self.x
        self.grads["bias"][...] = dout.sum(axis=0)
        return dout @ self.params["weight"]


VARIANTS = [
    wrong("linear", LinearBiasMean, "param_gradients", "batch_semantics", why="db averaged instead of summed"),
    wrong("linear", LinearWeightGradOverB, "param_gradients", "batch_semantics", why="dW carries a 1/B"),
    wrong("linear", LinearWeightGradTransposed, "param_gradients", "interface", why="dW = xᵀ dout reshaped"),
    wrong("linear", LinearDxTwice, "input_gradient", "autograd_agreement", why="factor 2 in dx"),
    wrong("linear", LinearSignFlip, "input_gradient", "param_gradients", why="every gradient negated"),
    wrong("linear", LinearGradsAccumulate, "state", why="grads += across calls"),
    wrong("linear", LinearStaleCache, "state", why="x cached on the first forward only"),
    wrong("linear", LinearCopiesParamsOnce, "forward", why="params copied at construction, never read again"),
    wrong("linear", LinearBiasSqueezed, "interface", "param_gradients", why="squeeze(): wrong at B = 1"),
    wrong("linear", LinearFloat32Inside, "forward", "autograd_agreement", why="float32 arithmetic in a float64 run"),
    wrong("linear", LinearWeightAlias, "state", why="self.W aliases params['weight']: a rebound entry is ignored"),
    correct("linear", LinearEinsum, "einsum everywhere"),
    wrong("linear", LinearReturnsNone, "input_gradient", why="backward returns None for dx"),
    correct("linear", LinearPreallocatedGrads, "float64 gradient buffers filled in place", warns=("interface",)),
]
