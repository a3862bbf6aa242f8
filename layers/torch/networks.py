r"""The two PyTorch networks of the assignment, each runnable on built-in layers or on this project's
Functions.

Both networks always hold built-in ``nn.Linear`` / ``nn.Conv2d`` / ``nn.BatchNorm2d`` modules as parameter
holders, so their state dicts are the same whichever path runs; ``use_custom`` only changes the forward:

    use_custom=False:  F.linear, F.conv2d, nn.BatchNorm2d
    use_custom=True:   LinearFunction, Conv2dFunction, CustomBatchNormManualFunction

A state dict saved from one path therefore loads into the other, which is how the tests compare them.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from layers.torch.batchnorm import CustomBatchNormManualFunction
from layers.torch.conv import Conv2dFunction
from layers.torch.linear import LinearFunction

__all__ = ["MLP", "ConvNet"]

# (name, output channels) of the 3×3 convolutions; a max-pool follows the last conv of each stage.
_CONV_STAGES: tuple[tuple[tuple[str, int], ...], ...] = (
    (("conv1", 64),),
    (("conv2", 128),),
    (("conv3_a", 256), ("conv3_b", 256)),
    (("conv4_a", 512), ("conv4_b", 512)),
    (("conv5_a", 512), ("conv5_b", 512)),
)
_MAX_SIDE = 32  # five pools of 3×3, stride 2, padding 1 take a side n ≤ 32 to 1: ⌊(n − 1)/2⌋ + 1 halves it.


class MLP(nn.Module):
    r"""Multi-layer perceptron: (Linear → ReLU) per hidden layer, then a Linear head returning logits.

    Args:
        n_inputs: features of each input sample.
        n_hidden: widths of the hidden layers, possibly empty (then the net is one Linear layer).
        n_classes: number of logits.
        use_custom: run the linear layers through :class:`LinearFunction` instead of ``F.linear``; the
            parameters (``layers.{i}.weight``/``.bias``, default ``nn.Linear`` initialisation) are the same.

    Raises:
        ValueError: on non-positive sizes, or (in ``forward``) on input that is not (B, n_inputs).

    Example:
        >>> MLP(4, [8], 3, use_custom=True)(torch.randn(2, 4)).shape
        torch.Size([2, 3])
        >>> MLP(4, [8], 3)(torch.randn(2, 5))
        Traceback (most recent call last):
        ValueError: MLP: expected input of shape (B, 4), got (2, 5)
    """

    def __init__(self, n_inputs: int, n_hidden: list[int], n_classes: int, *, use_custom: bool = False) -> None:
        super().__init__()
        sizes = [n_inputs, *n_hidden, n_classes]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes):
            raise ValueError(
                f"MLP: expected positive int sizes, got n_inputs={n_inputs!r}, "
                f"n_hidden={n_hidden!r}, n_classes={n_classes!r}"
            )
        self.n_inputs = n_inputs
        self.use_custom = use_custom
        self.layers = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"MLP: expected input of shape (B, {self.n_inputs}), got {tuple(x.shape)}")
        linear = LinearFunction.apply if self.use_custom else F.linear
        *hidden, head = (cast(nn.Linear, layer) for layer in self.layers)
        for layer in hidden:
            x = torch.relu(linear(x, layer.weight, layer.bias))
        return linear(x, head.weight, head.bias)


class ConvBlock(nn.Module):
    """3×3 convolution (padding 1) → batch norm (training: batch statistics) → ReLU, on either path."""

    def __init__(self, in_channels: int, out_channels: int, *, use_custom: bool = False) -> None:
        super().__init__()
        self.use_custom = use_custom
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_custom:
            return torch.relu(self.bn(self.conv(x)))
        conv = self.conv
        x = Conv2dFunction.apply(x, conv.weight, conv.bias, conv.stride, conv.padding)
        return torch.relu(_custom_batch_norm_2d(x, self.bn))


def _custom_batch_norm_2d(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    r"""``bn`` on (N, C, H, W) through the custom Function on (N·H·W, C), matching ``nn.BatchNorm2d``.

    In training mode the Function normalises with the batch statistics and the running statistics are updated
    as ``nn.BatchNorm2d`` does (momentum, unbiased running variance); in eval mode the running statistics are
    an affine map, γ (x − μ_run)/sqrt(σ²_run + ε) + β, which needs no Function.
    """
    assert bn.running_mean is not None and bn.running_var is not None
    n, c, h, w = x.shape
    if not bn.training:
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        return x * scale[:, None, None] + shift[:, None, None]
    rows = x.permute(0, 2, 3, 1).reshape(-1, c)
    out = CustomBatchNormManualFunction.apply(rows, bn.weight, bn.bias, bn.eps)  # raises before any update
    _update_running_stats(rows, bn)
    return out.reshape(n, h, w, c).permute(0, 3, 1, 2)


@torch.no_grad()
def _update_running_stats(rows: torch.Tensor, bn: nn.BatchNorm2d) -> None:
    """running ← running + m (batch − running), with m = momentum, or 1/batches seen when momentum is None."""
    assert bn.running_mean is not None and bn.running_var is not None and bn.num_batches_tracked is not None
    bn.num_batches_tracked.add_(1)
    momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
    mean = rows.mean(dim=0)  # two passes: torch.var_mean over dim 0 is ~50× slower on CPU
    var = (rows - mean).square_().sum(dim=0).div_(rows.shape[0] - 1)
    bn.running_mean.lerp_(mean, momentum)
    bn.running_var.lerp_(var, momentum)


class ConvNet(nn.Module):
    r"""The assignment's VGG-like network: 3×3 conv → BN → ReLU blocks, five max-pools, a linear head.

    Layers, with N×C×H×W shapes for a 32×32 input (3×3 convs with padding 1 keep H×W; each max-pool is
    3×3 with stride 2 and padding 1, taking a side n to ⌊(n − 1)/2⌋ + 1)::

        conv1 64                   32×32 → maxpool → 16×16
        conv2 128                  16×16 → maxpool →  8×8
        conv3_a 256, conv3_b 256    8×8  → maxpool →  4×4
        conv4_a 512, conv4_b 512    4×4  → maxpool →  2×2
        conv5_a 512, conv5_b 512    2×2  → maxpool →  1×1
        flatten 512 → linear → n_classes logits

    It also runs on 8×8 inputs (scikit-learn digits): the sides go 8 → 4 → 2 → 1 → 1 → 1 (a pool of a 1×1
    map with padding 1 stays 1×1), so the flattened features are still 512. Any side from 1 to 32 ends at 1×1.

    Args:
        n_channels: input channels (3 for CIFAR-10, 1 for digits).
        n_classes: number of logits.
        use_custom: run the convolutions through :class:`Conv2dFunction` and the batch norms through
            :class:`CustomBatchNormManualFunction` (on the (N·H·W, C) view, running statistics updated alike);
            the parameters and buffers are those of the built-in ``nn.Conv2d``, ``nn.BatchNorm2d`` and
            ``nn.Linear``.

    Raises:
        ValueError: (in ``forward``) on input that is not (N, n_channels, H, W) with 1 <= H, W <= 32.

    Example:
        >>> ConvNet(1, 10, use_custom=True)(torch.randn(2, 1, 8, 8)).shape
        torch.Size([2, 10])
        >>> ConvNet(3, 10)(torch.randn(2, 3, 64, 64))
        Traceback (most recent call last):
        ValueError: ConvNet: expected input of shape (N, 3, H, W) with 1 <= H, W <= 32, got ...
    """

    def __init__(self, n_channels: int, n_classes: int, *, use_custom: bool = False) -> None:
        super().__init__()
        self.n_channels = n_channels
        self.use_custom = use_custom
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = n_channels
        for i, stage in enumerate(_CONV_STAGES, start=1):
            for name, out_channels in stage:
                blocks[name] = ConvBlock(in_channels, out_channels, use_custom=use_custom)
                in_channels = out_channels
            blocks[f"maxpool{i}"] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.features = nn.Sequential(blocks)
        self.head = nn.Linear(in_channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.n_channels or not all(1 <= n <= _MAX_SIDE for n in x.shape[2:]):
            raise ValueError(
                f"ConvNet: expected input of shape (N, {self.n_channels}, H, W) with 1 <= H, W <= "
                f"{_MAX_SIDE}, got {tuple(x.shape)}; five stride-2 pools must bring H×W to 1×1 before the "
                f"512 → n_classes head"
            )
        features = self.features(x).flatten(1)
        if self.use_custom:
            return LinearFunction.apply(features, self.head.weight, self.head.bias)
        return self.head(features)
