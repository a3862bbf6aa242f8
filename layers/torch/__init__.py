"""``torch.autograd.Function`` layers of the assignment, the modules wrapping them, and the two networks.

Each module reads like a derivation: its docstring gives the forward and the backward formulas, and the code
follows them line by line.

- :mod:`layers.torch.batchnorm`: ``CustomBatchNormManualFunction`` and its modules (batch statistics).
- :mod:`layers.torch.layernorm`: ``CustomLayerNormManualFunction`` and its modules (statistics per sample).
- :mod:`layers.torch.linear`: ``LinearFunction`` (double-differentiable backward).
- :mod:`layers.torch.conv`: ``Conv2dFunction`` (unfold/fold and matrix products).
- :mod:`layers.torch.networks`: ``MLP`` and ``ConvNet``, on built-in layers or on these Functions.
"""

from layers.torch.batchnorm import (
    CustomBatchNormAutograd,
    CustomBatchNormManualFunction,
    CustomBatchNormManualModule,
)
from layers.torch.conv import Conv2dFunction
from layers.torch.layernorm import (
    CustomLayerNormAutograd,
    CustomLayerNormManualFunction,
    CustomLayerNormManualModule,
)
from layers.torch.linear import LinearFunction
from layers.torch.networks import MLP, ConvNet

__all__ = [
    "MLP",
    "Conv2dFunction",
    "ConvNet",
    "CustomBatchNormAutograd",
    "CustomBatchNormManualFunction",
    "CustomBatchNormManualModule",
    "CustomLayerNormAutograd",
    "CustomLayerNormManualFunction",
    "CustomLayerNormManualModule",
    "LinearFunction",
]
