"""Hand-written reference layers of the UvA deep-learning assignment, checkable by :mod:`gradcheck`.

NumPy modules (``forward``/``backward`` with ``params``/``grads`` dicts) live in :mod:`layers.numpy`;
``torch.autograd.Function`` layers, the modules wrapping them and the two PyTorch networks live in
:mod:`layers.torch`. The names follow the course so that a student's file can be compared as it is.
The torch names are resolved lazily so that ``import layers`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from layers.numpy import (
    MLP,
    BatchNormModule,
    Conv2dModule,
    CrossEntropyModule,
    ELUModule,
    LeakyReLUModule,
    LinearModule,
    MaxPool2dModule,
    ReLUModule,
    SoftMaxModule,
)

_TORCH_NAMES = (
    "CustomBatchNormManualFunction",
    "CustomBatchNormManualModule",
    "CustomBatchNormAutograd",
    "CustomLayerNormManualFunction",
    "CustomLayerNormManualModule",
    "CustomLayerNormAutograd",
    "LinearFunction",
    "Conv2dFunction",
)

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
    *_TORCH_NAMES,
]


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        return getattr(importlib.import_module("layers.torch"), name)
    raise AttributeError(f"module 'layers' has no attribute {name!r}")
