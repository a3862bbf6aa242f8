r"""2-D cross-correlation (``F.conv2d``) as a matrix product over patches, forward and backward.

Let x be (N, C, H, W), W be (O, C, kh, kw), stride (sh, sw), zero padding (ph, pw). ``unfold`` (im2col)
gathers each receptive field of the padded input into a column:

    X = unfold(x)     (N, C·kh·kw, L),   L = H_out · W_out,   H_out = ⌊(H + 2ph − kh)/sh⌋ + 1  (same for W)

and the convolution is one matrix product per sample with the flattened kernel W_mat (O, C·kh·kw):

    y_n = W_mat X_n + b    (O, L), reshaped to (O, H_out, W_out).

Backward, with dout reshaped to (N, O, L): the product rule for the matrix product, and the adjoint of
``unfold``, which is ``fold`` (col2im: it scatters each column back to its receptive field and sums overlaps):

    dW_mat = Σ_n dout_n X_nᵀ                    (O, C·kh·kw), reshaped to (O, C, kh, kw)
    db     = Σ_n Σ_l dout_nl                    (O,)
    dX_n   = W_matᵀ dout_n                      (C·kh·kw, L)
    dx     = fold(dX, (H, W))                   (N, C, H, W); padding is cropped away by fold.

The backward re-runs ``unfold`` on the saved input instead of saving X (kh·kw times the input's size).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["Conv2dFunction"]


class Conv2dFunction(torch.autograd.Function):
    r"""``apply(x, weight, bias, stride=1, padding=0)``: cross-correlation as ``F.conv2d``, via unfold/fold.

    ``stride`` and ``padding`` are ints or (h, w) pairs; ``bias`` may be ``None``. Backward returns
    ``(dx, dweight, dbias, None, None)`` (``None`` for inputs that need no gradient), computed with
    ``fold`` and matrix products; no ``F.conv2d`` is called in either direction.

    Raises:
        ValueError: ``x`` is not (N, C, H, W) with C equal to ``weight``'s in-channels, ``bias`` is not (O,),
            or the padded input is smaller than the kernel.

    Example:
        >>> x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
        >>> Conv2dFunction.apply(x, w, None, 2, 1).shape
        torch.Size([1, 3, 3, 3])
        >>> Conv2dFunction.apply(torch.randn(1, 4, 5, 5), w, None, 1, 0)
        Traceback (most recent call last):
        ValueError: Conv2dFunction: expected x of shape (N, 2, H, W) to match weight (3, 2, 3, 3), got ...
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
    ) -> torch.Tensor:
        stride, padding = _pair(stride), _pair(padding)
        h_out, w_out = _check_conv(x, weight, bias, stride, padding)
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        cols = F.unfold(x, weight.shape[2:], padding=padding, stride=stride)
        y = weight.reshape(weight.shape[0], -1) @ cols
        if bias is not None:
            y = y.add_(bias[:, None])
        return y.reshape(x.shape[0], weight.shape[0], h_out, w_out)

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        kernel, stride, padding = weight.shape[2:], ctx.stride, ctx.padding
        dout_cols = dout.reshape(dout.shape[0], dout.shape[1], -1)
        w_mat = weight.reshape(weight.shape[0], -1)
        dx = dweight = dbias = None
        if need_x:
            dx = F.fold(w_mat.T @ dout_cols, x.shape[2:], kernel, padding=padding, stride=stride)
        if need_weight:
            cols = F.unfold(x, kernel, padding=padding, stride=stride)
            dweight = (dout_cols @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
        if need_bias:
            dbias = dout_cols.sum((0, 2))
        return dx, dweight, dbias, None, None


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError(f"Conv2dFunction: expected an int or an (h, w) pair for stride/padding, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> tuple[int, int]:
    """Validate shapes; return (H_out, W_out) = ⌊(H + 2p − k)/s⌋ + 1 per spatial axis."""
    if weight.dim() != 4 or x.dim() != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"Conv2dFunction: expected x of shape (N, {weight.shape[1] if weight.dim() > 1 else 'C'}, H, W) "
            f"to match weight {tuple(weight.shape)}, got {tuple(x.shape)}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"Conv2dFunction: expected bias of shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"Conv2dFunction: expected stride >= 1 and padding >= 0, got {stride} and {padding}")
    size = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(x.shape[2:], padding, weight.shape[2:], stride, strict=True)]
    if min(size) < 1:
        raise ValueError(
            f"Conv2dFunction: padded input {tuple(x.shape[2:])} + 2·{padding} is smaller than the kernel "
            f"{tuple(weight.shape[2:])}"
        )
    return size[0], size[1]
