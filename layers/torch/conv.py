r"""2-D cross-correlation (``F.conv2d``): the forward as a matrix product over patches, the backward as a
transposed convolution and a correlation.

Let x be (N, C, H, W), W be (O, C, kh, kw), stride (sh, sw), zero padding (ph, pw), and xp the padded input.
Output size per spatial axis: H_out = ⌊(H + 2ph − kh)/sh⌋ + 1 (same for W). The forward is

    y[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q] · xp[n, c, sh·i + p, sw·j + q].

Forward (im2col). In channels-last order the receptive field of output pixel (n, i, j) is the row
``cols[n, i, j] = (xp[n, :, sh·i + p, sw·j + q] for p, q)`` of length kh·kw·C; gathering it is kh·kw strided
copies (one per kernel offset (p, q)), and the forward is one matrix product

    y_rows = cols (N·H_out·W_out, kh·kw·C) @ W_matᵀ (kh·kw·C, O) + b,   W_mat[o, (p, q, c)] = W[o, c, p, q].

The copies are made a few samples at a time into one reused buffer (about ``_CHUNK_BYTES``), so the
forward never holds the kh·kw-times-larger patch matrix of the whole batch. A kernel offset whose every window
falls in the zero padding contributes nothing; its columns and weights are left out (a 3×3 kernel with
padding 1 on a 1×1 image keeps one offset of nine). ``y`` is returned as (N, O, H_out,
W_out) in the channels-last memory format it was computed in (``permute`` of the (N, H_out, W_out, O) rows).

Backward. y is linear in each of W, b and xp; with dout = ∂L/∂y:

    db[o]          = Σ_{n, i, j} dout[n, o, i, j]
    dW[o, c, p, q] = Σ_{n, i, j} dout[n, o, i, j] · xp[n, c, sh·i + p, sw·j + q]
                     — the correlation of x with dout (dout as the kernel, dilated by the stride),
    dxp[n, c, u, v] = Σ_{o, p, q : u = sh·i + p, v = sw·j + q} W[o, c, p, q] · dout[n, o, i, j]
                     — the transposed convolution of dout with W (dout scattered by the stride, correlated
                       with W rotated by 180° and its in/out channels swapped), cropped by the padding.

The three are evaluated by one call of ``torch.ops.aten.convolution_backward`` (the primitive behind
``torch.nn.grad.conv2d_input`` and ``conv2d_weight``), which computes exactly these sums for the parts asked
for; it is differentiable, so the Function supports double backward.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import torch

__all__ = ["Conv2dFunction"]

_CHUNK_BYTES = 1 << 20
"""Size of the reused patch buffer: a few samples' patches at a time, small enough to stay in cache."""


class Conv2dFunction(torch.autograd.Function):
    r"""``apply(x, weight, bias, stride=1, padding=0)``: cross-correlation as ``F.conv2d``.

    ``stride`` and ``padding`` are ints or (h, w) pairs; ``bias`` may be ``None``. The forward is im2col and
    one matrix product per chunk of samples (no convolution primitive); the output is (N, O, H_out, W_out) in
    the channels-last memory format. Backward returns ``(dx, dweight, dbias, None, None)`` (``None`` for
    inputs that need no gradient): dx as the transposed convolution of dout with the weight, dweight as the
    correlation of x with dout and dbias as the sum of dout, in one ``aten.convolution_backward`` call.

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
        out_hw = _check_conv(x, weight, bias, stride, padding)
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return _im2col_matmul(x, weight, bias, stride, padding, out_hw).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        # One call evaluates the transposed convolution (dx), the correlation (dW) and Σ dout (db), each only
        # when asked for; separate calls (torch.nn.grad.conv2d_input / conv2d_weight) would each re-lay-out
        # dout and the operands, which costs more than the sums themselves for small images.
        dx, dweight, dbias = torch.ops.aten.convolution_backward(
            dout,
            x,
            weight,
            [weight.shape[0]] if need_bias else None,
            list(ctx.stride),
            list(ctx.padding),
            [1, 1],
            False,
            [0, 0],
            1,
            [bool(need_x), bool(need_weight), bool(need_bias)],
        )
        return dx, dweight, dbias, None, None


def _im2col_matmul(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_hw: tuple[int, int],
) -> torch.Tensor:
    """The (N, H_out, W_out, O) rows ``cols @ W_matᵀ + b``, built a chunk of samples at a time.

    Kernel offsets that see only padding in every window (a 3×3 kernel with padding 1 on a 1×1 image has one
    live offset out of nine) contribute zero, so their columns and weights are left out of the product.
    """
    n, c, h, w = x.shape
    n_out = weight.shape[0]
    (sh, sw), (ph, pw), (ho, wo) = stride, padding, out_hw
    rows_p = _live_offsets(weight.shape[2], ph, h, sh, ho)
    cols_q = _live_offsets(weight.shape[3], pw, w, sw, wo)
    kh, kw = len(rows_p), len(cols_q)
    xp = x.new_zeros(n, h + 2 * ph, w + 2 * pw, c)  # channels last: each patch row is kh·kw runs of C values
    xp[:, ph : ph + h, pw : pw + w] = x.permute(0, 2, 3, 1)
    y = x.new_empty(n, ho, wo, n_out)
    if not rows_p or not cols_q:  # every window lies in the padding
        return y.copy_((bias if bias is not None else y.new_zeros(n_out)).expand_as(y))
    w_live = weight[:, :, _as_index(rows_p)][:, :, :, _as_index(cols_q)]
    w_mat_t = w_live.permute(2, 3, 1, 0).reshape(kh * kw * c, n_out)
    per_sample = ho * wo * kh * kw * c * x.element_size()
    chunk = max(1, min(n, _CHUNK_BYTES // max(per_sample, 1)))
    cols = x.new_empty(chunk, ho, wo, kh, kw, c)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        part = cols[: stop - start]
        for (i, p), (j, q) in product(enumerate(rows_p), enumerate(cols_q)):
            part[:, :, :, i, j] = xp[start:stop, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw]
        rows, out = part.view(-1, kh * kw * c), y[start:stop].view(-1, n_out)
        if bias is None:
            torch.mm(rows, w_mat_t, out=out)
        else:
            torch.addmm(bias, rows, w_mat_t, out=out)
    return y


def _live_offsets(k: int, pad: int, size: int, stride: int, n_out: int) -> list[int]:
    """The kernel offsets p < k for which some window's position s·i + p (i < n_out) is inside the input.

    The input occupies the padded positions [pad, pad + size); with a stride the live offsets need not be
    contiguous, so they are listed (k·n_out comparisons, on the host).
    """
    return [p for p in range(k) if any(pad <= stride * i + p < pad + size for i in range(n_out))]


def _as_index(offsets: list[int]) -> slice | list[int]:
    """A run of consecutive offsets as a slice (a view, no copy of the weight); otherwise the list."""
    if offsets == list(range(offsets[0], offsets[-1] + 1)):
        return slice(offsets[0], offsets[-1] + 1)
    return offsets


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
