"""Variants that only edge cases, purity from before the forward, interleaved instances, rebound parameters and
nested sub-modules reach (issue 12): each wrong one next to a correct twin written the same way.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import torch

from layers.numpy import (
    BatchNormModule,
    Conv2dModule,
    CrossEntropyModule,
    LinearModule,
    MaxPool2dModule,
    ReLUModule,
    SoftMaxModule,
)
from layers.numpy.conv import _as_matrix
from layers.torch import CustomLayerNormManualFunction

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong

# --- max pooling: overlapping windows ---------------------------------------------------------------------


class MaxPoolAssignsOverlaps(MaxPool2dModule):
    """``dx[idx] = dout``: where two overlapping windows share a maximum, only one of their gradients lands."""

    def backward(self, dout):
        argmax, x_shape, dtype = self._saved()
        dout = np.asarray(dout, dtype=dtype)
        dx = np.zeros(int(np.prod(x_shape)), dtype=dtype)
        dx[self._flat_argmax(argmax, x_shape).ravel()] = dout.ravel()
        return dx.reshape(x_shape)


class MaxPoolAccumulatesOverlaps(MaxPool2dModule):
    """Correct twin: ``np.add.at(dx, idx, dout)`` accumulates the windows that share a maximum."""

    def backward(self, dout):
        argmax, x_shape, dtype = self._saved()
        dout = np.asarray(dout, dtype=dtype)
        dx = np.zeros(int(np.prod(x_shape)), dtype=dtype)
        np.add.at(dx, self._flat_argmax(argmax, x_shape).ravel(), dout.ravel())
        return dx.reshape(x_shape)


# --- convolution: a backward in chunks of samples ----------------------------------------------------------


class _ChunkedConv(Conv2dModule):
    """The reference backward run over chunks of 8 samples (to bound memory); subclasses say how dW adds up."""

    chunk = 8

    def backward(self, dout):
        cols, weight, x_shape, out_hw = self._saved()
        n, k = x_shape[0], self.kernel_size
        dout3 = np.asarray(dout, dtype=cols.dtype).reshape(n, self.out_channels, -1)
        dweight = np.zeros((self.out_channels, k * k * self.in_channels), dtype=cols.dtype)
        dx = np.empty(x_shape, dtype=cols.dtype)
        for start in range(0, n, self.chunk):
            part = slice(start, start + self.chunk)
            dweight = self.add(dweight, np.matmul(dout3[part], cols[part].transpose(0, 2, 1)).sum(axis=0))
            dx[part] = self._dx(dout3[part], weight, (len(dx[part]), *x_shape[1:]), out_hw)
        dweight = dweight.reshape(self.out_channels, k, k, self.in_channels).transpose(0, 3, 1, 2)
        self._set_grads(weight=np.ascontiguousarray(dweight), bias=dout3.sum(axis=(0, 2)))
        return dx

    def _dx(self, dout3, weight, x_shape, out_hw):
        return self._col2im(np.matmul(_as_matrix(weight).T, dout3), x_shape, out_hw)

    def add(self, total, part):
        return total + part


class ConvChunkResetsGradient(_ChunkedConv):
    """dW reset per chunk of 8 samples: right for batches up to 8, only the last chunk's share beyond."""

    def add(self, total, part):
        return part


class ConvChunkAccumulates(_ChunkedConv):
    """Correct twin: dW summed over the chunks."""


# --- cross-entropy: exact zeros --------------------------------------------------------------------------


class CrossEntropyFixesZerosInPlace(CrossEntropyModule):
    """``x[x == 0] = eps`` before the log: writes into the caller's probabilities where they are exactly 0."""

    def forward(self, x, y):
        x[x == 0] = 1e-12
        return x.dtype.type(-(y * np.log(x)).sum() / x.shape[0])

    def backward(self, x, y):
        return (-y / np.where(x == 0, 1e-12, x) / x.shape[0]).astype(x.dtype)


class CrossEntropyZerosByWhere(CrossEntropyModule):
    """Correct twin: ``np.where(x == 0, eps, x)`` makes a new array; y = 0 there, so the term is 0 either way."""

    def forward(self, x, y):
        safe = np.where(x == 0, 1e-12, x)
        return x.dtype.type(-(y * np.log(safe)).sum() / x.shape[0])

    def backward(self, x, y):
        return (-y / np.where(x == 0, 1e-12, x) / x.shape[0]).astype(x.dtype)


# --- a Function that centres its input in place ----------------------------------------------------------


class LayerNormCentresInputInPlace(torch.autograd.Function):
    """``x = input; x -= mean`` in forward: the caller's input is centred (layer norm's output is unchanged)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        x = input
        x -= x.mean(dim=1, keepdim=True)
        return CustomLayerNormManualFunction.forward(ctx, x, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        return CustomLayerNormManualFunction.backward(ctx, dout)


class LayerNormCentresCopy(torch.autograd.Function):
    """Correct twin: ``x = input - mean`` (a new tensor)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        x = input - input.mean(dim=1, keepdim=True)
        return CustomLayerNormManualFunction.forward(ctx, x, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        return CustomLayerNormManualFunction.backward(ctx, dout)


# --- state on the class -----------------------------------------------------------------------------------


class _DictLinear:
    """Linear with ``params``/``grads`` dicts filled in ``__init__`` (as the course's skeleton does)."""

    def __init__(self, in_features, out_features):
        self.setup()
        self.params["weight"] = np.random.normal(0, 1e-4, (out_features, in_features))
        self.params["bias"] = np.zeros(out_features)
        self.grads["weight"] = np.zeros((out_features, in_features))
        self.grads["bias"] = np.zeros(out_features)

    def setup(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=0)
        return dout @ self.params["weight"]


class LinearClassDicts(_DictLinear):
    """``params = {}`` and ``grads = {}`` on the class: every instance shares (and overwrites) the same dicts."""

    params: dict = {}  # noqa: RUF012 (the mistake)
    grads: dict = {}  # noqa: RUF012

    def setup(self):
        pass


class LinearInstanceDicts(_DictLinear):
    """Correct twin: the dicts made in ``__init__``."""


class ReLUClassCache:
    """The input kept in a dict on the class: the last forward of *any* instance wins."""

    cache: dict = {}  # noqa: RUF012 (the mistake)

    def forward(self, x):
        self.cache["x"] = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.cache["x"] > 0)


class ReLUInstanceCache:
    """Correct twin: the cache on the instance."""

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)


# --- parameters captured at construction -----------------------------------------------------------------


class LinearCapturesWeight(_DictLinear):
    """``self.W = self.params["weight"]`` in ``__init__``: a training loop's ``params[k] = params[k] − lr·g``
    rebinds the entry, and this layer keeps computing with the old arrays."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.W, self.b = self.params["weight"], self.params["bias"]

    def forward(self, x):
        self.x = x
        return x @ self.W.T + self.b

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=0)
        return dout @ self.W


# --- networks: nested sub-modules and their layouts -------------------------------------------------------


class _Net:
    """``forward``/``backward`` through ``self.stages()`` (a flat list of modules) in order and in reverse."""

    def forward(self, x):
        for m in self.stages():
            x = m.forward(x)
        return x

    def backward(self, dout):
        for m in reversed(self.stages()):
            dout = m.backward(dout)
        return dout


class MLPTupleBlocks(_Net):
    """Correct: hidden layers kept as a list of ``(Linear, ReLU)`` tuples, the head as a dict."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        sizes = [n_inputs, *n_hidden]
        self.blocks = [(LinearModule(a, b), ReLUModule()) for a, b in itertools.pairwise(sizes)]
        self.head = {"linear": LinearModule(sizes[-1], n_classes), "softmax": SoftMaxModule()}

    def stages(self):
        return [m for block in self.blocks for m in block] + [self.head["linear"], self.head["softmax"]]


class LinearInOut:
    """Linear with weight (in, out) and bias (out, 1): ``out = x W + bᵀ``."""

    def __init__(self, in_features, out_features):
        self.params = {"W": np.random.normal(0, 1e-4, (in_features, out_features)), "b": np.zeros((out_features, 1))}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"].T

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)[:, None]
        return dout @ self.params["W"].T


class MLPInOutLinears(_Net):
    """Correct: an MLP of Linears storing weight (in, out) and bias (out, 1)."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        sizes = [n_inputs, *n_hidden, n_classes]
        self.layers = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            self.layers.append(LinearInOut(a, b))
            self.layers.append(ReLUModule() if i < len(sizes) - 2 else SoftMaxModule())

    def stages(self):
        return self.layers


class BatchNormGreekNames(BatchNormModule):
    """Correct: γ and β stored as ``params["β"]`` then ``params["γ"]`` (β first: order does not tell)."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__(n_neurons, eps)
        self._init_params(β=np.zeros(n_neurons), γ=np.ones(n_neurons))

    def forward(self, x):
        self.params["gamma"], self.params["beta"] = self.params["γ"], self.params["β"]
        try:
            return super().forward(x)
        finally:
            del self.params["gamma"], self.params["beta"]

    def backward(self, dout):
        self.params["gamma"], self.params["beta"] = self.params["γ"], self.params["β"]
        try:
            dx = super().backward(dout)
        finally:
            del self.params["gamma"], self.params["beta"]
        self.grads["γ"], self.grads["β"] = self.grads.pop("gamma"), self.grads.pop("beta")
        return dx


class BatchNormUnderscoreNames(BatchNormModule):
    """Correct: γ and β stored as ``params["_b"]`` then ``params["_g"]``."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__(n_neurons, eps)
        self._init_params(_b=np.zeros(n_neurons), _g=np.ones(n_neurons))

    def forward(self, x):
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        self.cache = (x, mu, var)
        return self.params["_g"] * (x - mu) / np.sqrt(var + self.eps) + self.params["_b"]

    def backward(self, dout):
        x, mu, var = self.cache
        inv = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mu) * inv
        self.grads["_g"] = (dout * x_hat).sum(axis=0)
        self.grads["_b"] = dout.sum(axis=0)
        d = dout * self.params["_g"]
        return inv * (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0))


VARIANTS = [
    wrong("maxpool2d", MaxPoolAssignsOverlaps, "input_gradient", "invariants", why="dx[idx] = dout on overlaps"),
    correct("maxpool2d", MaxPoolAccumulatesOverlaps, "np.add.at over overlapping windows"),
    wrong("conv2d", ConvChunkResetsGradient, "param_gradients", why="dW reset per chunk of 8 samples"),
    correct("conv2d", ConvChunkAccumulates, "dW summed over chunks of 8 samples"),
    wrong("cross_entropy", CrossEntropyFixesZerosInPlace, "purity", why="x[x == 0] = eps in place"),
    correct("cross_entropy", CrossEntropyZerosByWhere, "np.where(x == 0, eps, x): a new array"),
    wrong("layernorm_function", LayerNormCentresInputInPlace, "purity", why="x = input; x -= mean in forward"),
    correct("layernorm_function", LayerNormCentresCopy, "x = input - mean"),
    wrong("linear", LinearClassDicts, "state", why="params and grads dicts on the class"),
    correct("linear", LinearInstanceDicts, "params and grads dicts made in __init__"),
    wrong("relu", ReLUClassCache, "state", why="the cache is a dict on the class"),
    correct("relu", ReLUInstanceCache, "the cache on the instance"),
    wrong("linear", LinearCapturesWeight, "state", why="self.W = self.params['weight'] ignores a rebound entry"),
    correct("mlp", MLPTupleBlocks, "sub-modules in a list of (Linear, ReLU) tuples and a dict"),
    correct("mlp", MLPInOutLinears, "Linears with weight (in, out) and bias (out, 1) inside an MLP"),
    correct("batchnorm", BatchNormGreekNames, "γ and β under the names γ and β, β first"),
    correct("batchnorm", BatchNormUnderscoreNames, "γ and β under the names _g and _b, _b first"),
]
