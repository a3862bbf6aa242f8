"""Variants of the NumPy MLP: (Linear → ReLU)* → Linear → SoftMax."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

from layers.numpy import MLP, LinearModule, ReLUModule, SoftMaxModule

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong


class _PassThroughReLU(ReLUModule):
    def backward(self, dout):
        self._saved()
        return np.array(dout, copy=True)


class MLPSkipsReLUMask(MLP):
    """Backward passes the gradient through the hidden ReLUs unmasked."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__(n_inputs, n_hidden, n_classes)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, ReLUModule):
                self.layers[i] = _PassThroughReLU()


class MLPSharedReLU(MLP):
    """One ReLU instance reused for every hidden layer: backward masks with the last hidden layer's input."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__(n_inputs, n_hidden, n_classes)
        shared = ReLUModule()
        self.layers = [shared if isinstance(layer, ReLUModule) else layer for layer in self.layers]


class MLPNoHiddenReLU(MLP):
    """Forward forgets the hidden ReLUs; backward still masks (as if they were there)."""

    def forward(self, x):
        out = np.asarray(x)
        self._sync_params()
        for layer in self.layers:
            if isinstance(layer, ReLUModule):
                layer.forward(out)  # cached for backward, result unused
            else:
                out = layer.forward(out)
        self._cache = (out.shape, out.dtype)
        return out


class MLPSoftmaxTwice(MLP):
    """Applies softmax to the probabilities again before returning them."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        super().__init__(n_inputs, n_hidden, n_classes)
        self.layers.append(SoftMaxModule())


class MLPGradientAscent(MLP):
    """Backward returns the negated gradients for the first linear layer ("descent" applied twice)."""

    def backward(self, dout):
        dx = super().backward(dout)
        first = next(layer for layer in self.layers if isinstance(layer, LinearModule))
        first.grads["weight"] = -first.grads["weight"]
        first.grads["bias"] = -first.grads["bias"]
        self.grads = {key: layer.grads[name] for key, (layer, name) in self._slots.items()}
        return -dx


class MLPWithOwnLayers:
    """Correct: keeps hidden and output layers in two attributes, no ``params`` of its own."""

    def __init__(self, n_inputs, n_hidden, n_classes):
        sizes = [n_inputs, *n_hidden]
        self.hidden = [LinearModule(a, b) for a, b in itertools.pairwise(sizes)]
        self.relus = [ReLUModule() for _ in self.hidden]
        self.head = LinearModule(sizes[-1], n_classes)
        self.softmax = SoftMaxModule()

    def forward(self, x):
        for linear, relu in zip(self.hidden, self.relus, strict=True):
            x = relu.forward(linear.forward(x))
        return self.softmax.forward(self.head.forward(x))

    def backward(self, dout):
        dout = self.head.backward(self.softmax.backward(dout))
        for linear, relu in reversed(list(zip(self.hidden, self.relus, strict=True))):
            dout = linear.backward(relu.backward(dout))
        return dout


VARIANTS = [
    wrong(
        "mlp",
        MLPSkipsReLUMask,
        "input_gradient",
        why="the ReLU mask is skipped in backward",
    ),
    wrong(
        "mlp",
        MLPSharedReLU,
        "input_gradient",
        why="one ReLU instance shared by every hidden layer: the mask of the wrong layer (a crash where hidden "
        "sizes differ)",
        crash=True,
    ),
    wrong("mlp", MLPNoHiddenReLU, "forward", why="forward forgets the hidden ReLUs"),
    wrong("mlp", MLPSoftmaxTwice, "forward", why="softmax applied twice"),
    wrong(
        "mlp", MLPGradientAscent, "input_gradient", "param_gradients", "trainability", why="gradients negated (ascent)"
    ),
    correct("mlp", MLPWithOwnLayers, "layers in attributes, no params dict of its own"),
]
