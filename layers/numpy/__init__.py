"""The NumPy layers of the UvA deep-learning assignment 1 (2018, with LeakyReLU from 2019 and ELU from 2020).

Each module has ``params`` and ``grads`` dicts (empty for parameterless modules), a ``forward`` that
caches what its ``backward`` needs, and a ``backward`` that overwrites ``grads`` and returns the gradient
with respect to the input. Layers compute in the dtype of their input; ``grads[k]`` has the shape and dtype
of ``params[k]``.
"""

from layers.numpy.activations import ELUModule, LeakyReLUModule, ReLUModule, SoftMaxModule
from layers.numpy.batchnorm import BatchNormModule
from layers.numpy.conv import Conv2dModule, MaxPool2dModule
from layers.numpy.linear import LinearModule
from layers.numpy.loss import CrossEntropyModule
from layers.numpy.mlp import MLP

__all__ = [
    "MLP",
    "BatchNormModule",
    "Conv2dModule",
    "CrossEntropyModule",
    "ELUModule",
    "LeakyReLUModule",
    "LinearModule",
    "MaxPool2dModule",
    "ReLUModule",
    "SoftMaxModule",
]
