"""Variants that only edge cases, purity from before the forward, interleaved instances, rebound parameters and
nested sub-modules reach (issue 12): each wrong one next to a correct twin written the same way.
"""

from __future__ import annotations

import itertools
import sys
from itertools import product
from pathlib import Path

import numpy as np
import torch

from layers.numpy import (
    Conv2dModule,
    CrossEntropyModule,
    LinearModule,
    MaxPool2dModule,
    ReLUModule,
    SoftMaxModule,
)

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong

# --- max pooling: overlapping windows ---------------------------------------------------------------------


class _LoopPool(MaxPool2dModule):
    """Max pooling by loops over windows (padding as −∞), first maximum of each window; backward scatters dout."""

    def forward(self, x):
        x = np.asarray(x)
        k, s, p = self.kernel_size, self.stride, self.padding
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        ho, wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
        out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
        rows, cols = np.empty(out.shape, dtype=int), np.empty(out.shape, dtype=int)
        for i, j in product(range(ho), range(wo)):
            window = xp[:, :, i * s : i * s + k, j * s : j * s + k].reshape(*x.shape[:2], -1)
            arg = window.argmax(axis=2)
            out[:, :, i, j] = window.max(axis=2)
            rows[:, :, i, j], cols[:, :, i, j] = i * s + arg // k - p, j * s + arg % k - p
        self.cache = (x.shape, x.dtype, rows, cols)
        return out

    def backward(self, dout):
        shape, dtype, rows, cols = self.cache
        n, c = np.indices(rows.shape)[:2]
        dx = np.zeros(shape, dtype=dtype)
        self.scatter(dx, (n.ravel(), c.ravel(), rows.ravel(), cols.ravel()), np.asarray(dout, dtype=dtype).ravel())
        return dx


class MaxPoolAssignsOverlaps(_LoopPool):
    """``dx[idx] = dout``: where two overlapping windows share a maximum, only one of their gradients lands."""

    def scatter(self, dx, idx, dout):
        dx[idx] = dout


class MaxPoolAccumulatesOverlaps(_LoopPool):
    """Correct twin: ``np.add.at(dx, idx, dout)`` accumulates the windows that share a maximum."""

    def scatter(self, dx, idx, dout):
        np.add.at(dx, idx, dout)


# --- convolution: a backward in chunks of samples ----------------------------------------------------------


class _ChunkedConv(Conv2dModule):
    """Cross-correlation by loops over output positions; backward over chunks of 8 samples (to bound memory),
    subclasses say how the chunks' dW add up."""

    chunk = 8

    def forward(self, x):
        x = np.asarray(x)
        s, p, k = self.stride, self.padding, self.kernel_size
        w, b = self.params["weight"].astype(x.dtype), self.params["bias"].astype(x.dtype)
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        ho, wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
        out = np.empty((x.shape[0], self.out_channels, ho, wo), dtype=x.dtype)
        for i, j in product(range(ho), range(wo)):
            out[:, :, i, j] = np.einsum("nchw,ochw->no", xp[:, :, i * s : i * s + k, j * s : j * s + k], w) + b
        self.cache = (x.shape, xp, w)
        return out

    def backward(self, dout):
        shape, xp, w = self.cache
        s, p, k = self.stride, self.padding, self.kernel_size
        dout = np.asarray(dout, dtype=xp.dtype)
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for start in range(0, shape[0], self.chunk):
            part = slice(start, start + self.chunk)
            dw_part = np.zeros_like(w)
            for i, j in product(range(dout.shape[2]), range(dout.shape[3])):
                rows, cols = slice(i * s, i * s + k), slice(j * s, j * s + k)
                dw_part += np.einsum("no,nchw->ochw", dout[part, :, i, j], xp[part, :, rows, cols])
                dxp[part, :, rows, cols] += np.einsum("no,ochw->nchw", dout[part, :, i, j], w)
            dw = self.add(dw, dw_part)
        self.grads["weight"], self.grads["bias"] = dw, dout.sum(axis=(0, 2, 3))
        return dxp[:, :, p : p + shape[2], p : p + shape[3]].copy()

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


def _layer_norm(ctx, centred, gamma, beta, eps):
    """Layer norm of an already centred input; saves x̂, γ and 1/σ̂ for :func:`_layer_norm_backward`."""
    inv_std = torch.rsqrt((centred * centred).mean(dim=1, keepdim=True) + eps)
    x_hat = centred * inv_std
    ctx.save_for_backward(x_hat, gamma, inv_std)
    return x_hat * gamma + beta


def _layer_norm_backward(ctx, dout):
    x_hat, gamma, inv_std = ctx.saved_tensors
    d = dout * gamma
    dx = inv_std * (d - d.mean(dim=1, keepdim=True) - x_hat * (d * x_hat).mean(dim=1, keepdim=True))
    return dx, (dout * x_hat).sum(0), dout.sum(0), None


class LayerNormCentresInputInPlace(torch.autograd.Function):
    """``x = input; x -= mean`` in forward: the caller's input is centred (layer norm's output is unchanged)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        x = input
        x -= x.mean(dim=1, keepdim=True)
        return _layer_norm(ctx, x, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        return _layer_norm_backward(ctx, dout)


class LayerNormCentresCopy(torch.autograd.Function):
    """Correct twin: ``x = input - mean`` (a new tensor)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        return _layer_norm(ctx, input - input.mean(dim=1, keepdim=True), gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        return _layer_norm_backward(ctx, dout)


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


class MLPFlatParams:
    """Correct: one flat dict ``b1, W1, b2, W2, …`` (biases first) with W (in, out) and b (1, out)."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        sizes = [n_inputs, *n_hidden, n_classes]
        self.n = len(sizes) - 1
        self.params, self.grads = {}, {}
        for i in range(self.n):
            self.params[f"b{i + 1}"] = np.zeros((1, sizes[i + 1]))
            self.params[f"W{i + 1}"] = np.random.normal(0, 1e-4, (sizes[i], sizes[i + 1]))

    def forward(self, x):
        self.hs = [x]
        for i in range(1, self.n + 1):
            z = self.hs[-1] @ self.params[f"W{i}"] + self.params[f"b{i}"]
            if i < self.n:
                z = np.maximum(z, 0)
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                z = e / e.sum(axis=1, keepdims=True)
            self.hs.append(z)
        return self.hs[-1]

    def backward(self, dout):
        s = self.hs[-1]
        d = s * (dout - (dout * s).sum(axis=1, keepdims=True))
        for i in range(self.n, 0, -1):
            self.grads[f"W{i}"] = self.hs[i - 1].T @ d
            self.grads[f"b{i}"] = d.sum(axis=0, keepdims=True)
            d = d @ self.params[f"W{i}"].T
            if i > 1:
                d = d * (self.hs[i - 1] > 0)
        return d


class _BatchNormNamed:
    """Batch norm (training mode) with γ and β under the names ``G`` and ``B`` of the subclass, β first."""

    G, B = "gamma", "beta"

    def __init__(self, n_neurons, eps=1e-5):
        self.eps = eps
        self.params = {self.B: np.zeros(n_neurons), self.G: np.ones(n_neurons)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        mu, var = x.mean(axis=0), x.var(axis=0)
        self.cache = (x, mu, var)
        return self.params[self.G] * (x - mu) / np.sqrt(var + self.eps) + self.params[self.B]

    def backward(self, dout):
        x, mu, var = self.cache
        inv = 1 / np.sqrt(var + self.eps)
        x_hat = (x - mu) * inv
        self.grads[self.G] = (dout * x_hat).sum(axis=0)
        self.grads[self.B] = dout.sum(axis=0)
        d = dout * self.params[self.G]
        return inv * (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0))


class BatchNormGreekNames(_BatchNormNamed):
    """Correct: γ and β stored as ``params["β"]`` then ``params["γ"]`` (β first: order does not tell)."""

    G, B = "γ", "β"


class BatchNormUnderscoreNames(_BatchNormNamed):
    """Correct: γ and β stored as ``params["_b"]`` then ``params["_g"]``."""

    G, B = "_g", "_b"


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
    correct("mlp", MLPFlatParams, "one flat params dict b1, W1, b2, W2 with W (in, out), b (1, out)"),
    correct("batchnorm", BatchNormGreekNames, "γ and β under the names γ and β, β first"),
    correct("batchnorm", BatchNormUnderscoreNames, "γ and β under the names _g and _b, _b first"),
]
