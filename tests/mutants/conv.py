"""Variants of 2-d convolution and max pooling (NumPy modules and the torch Function)."""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from layers.numpy import Conv2dModule, MaxPool2dModule
from layers.torch import Conv2dFunction

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong

# --- NumPy conv, written with explicit loops (what most students write first) ----------------------------


class _LoopConv(Conv2dModule):
    """Cross-correlation by loops over output positions; subclasses change one step."""

    def stride_used(self):
        return self.stride

    def kernel(self, weight):
        return weight

    def forward(self, x):
        x = np.asarray(x)
        s, p, k = self.stride_used(), self.padding, self.kernel_size
        w = self.kernel(self.params["weight"].astype(x.dtype))
        b = self.params["bias"].astype(x.dtype)
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        ho, wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
        out = np.empty((x.shape[0], self.out_channels, ho, wo), dtype=x.dtype)
        for i, j in product(range(ho), range(wo)):
            patch = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
        self._cache = (x, xp, w)
        return out

    def backward(self, dout):
        x, xp, w = self._saved()
        s, _p, k = self.stride_used(), self.padding, self.kernel_size
        dout = np.asarray(dout, dtype=x.dtype)
        dxp, dw = np.zeros_like(xp), np.zeros_like(w)
        for i, j in product(range(dout.shape[2]), range(dout.shape[3])):
            patch = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            dw += np.einsum("no,nchw->ochw", dout[:, :, i, j], patch)
            dxp[:, :, i * s : i * s + k, j * s : j * s + k] += np.einsum("no,ochw->nchw", dout[:, :, i, j], w)
        self._set_grads(weight=self.kernel(dw), bias=self.bias_grad(dout))
        return self.crop(dxp, x.shape)

    def bias_grad(self, dout):
        return dout.sum(axis=(0, 2, 3))

    def crop(self, dxp, shape):
        p = self.padding
        return dxp[:, :, p : p + shape[2], p : p + shape[3]].copy()


class ConvLoops(_LoopConv):
    """Correct: explicit loops over output positions, no im2col."""


class ConvStrideIgnored(_LoopConv):
    """Right only for stride 1: the constructor's stride is never used."""

    def stride_used(self):
        return 1


class ConvKernelFlipped(_LoopConv):
    """A true convolution (kernel flipped) where ``F.conv2d``'s cross-correlation is due."""

    def kernel(self, weight):
        return weight[:, :, ::-1, ::-1]


class ConvBackwardPaddingBorder(_LoopConv):
    """Crops the padded input gradient at the wrong offset: wrong at the padding border."""

    def crop(self, dxp, shape):
        return dxp[:, :, : shape[2], : shape[3]].copy()


class ConvBiasMean(_LoopConv):
    """The bias gradient averaged over batch and positions."""

    def bias_grad(self, dout):
        return dout.mean(axis=(0, 2, 3))


class ConvBiasNoSpatialSum(_LoopConv):
    """The bias gradient summed over the batch only, then over the first position (``[..., 0, 0]``)."""

    def bias_grad(self, dout):
        return dout.sum(axis=0)[:, 0, 0]


# --- NumPy max pooling -----------------------------------------------------------------------------------


class _LoopPool(MaxPool2dModule):
    """Max pooling by loops over windows; subclasses change how ties, padding and stride are handled."""

    pad_value = -np.inf

    def stride_used(self):
        return self.stride

    def padding_used(self):
        return self.padding

    def forward(self, x):
        x = np.asarray(x)
        k, s, p = self.kernel_size, self.stride_used(), self.padding_used()
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=self.pad_value)
        ho, wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
        out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
        for i, j in product(range(ho), range(wo)):
            out[:, :, i, j] = xp[:, :, i * s : i * s + k, j * s : j * s + k].max(axis=(2, 3))
        self._cache = (x, xp, out)
        return out

    def backward(self, dout):
        x, xp, out = self._saved()
        k, s, p = self.kernel_size, self.stride_used(), self.padding_used()
        dxp = np.zeros_like(xp)
        for i, j in product(range(out.shape[2]), range(out.shape[3])):
            window = xp[:, :, i * s : i * s + k, j * s : j * s + k]
            mask = self.route(window, out[:, :, i, j])
            dxp[:, :, i * s : i * s + k, j * s : j * s + k] += mask * np.asarray(dout)[:, :, i, j, None, None]
        return dxp[:, :, p : p + x.shape[2], p : p + x.shape[3]].copy()

    def route(self, window, m):
        """One-hot mask of the first maximum of each window."""
        flat = window.reshape(*window.shape[:2], -1)
        mask = np.zeros_like(flat)
        np.put_along_axis(mask, flat.argmax(axis=2)[..., None], 1, axis=2)
        return mask.reshape(window.shape)


class MaxPoolLoops(_LoopPool):
    """Correct: loops over windows, gradient to the first maximum."""


class MaxPoolLastTie(_LoopPool):
    """Correct: at ties the gradient goes to the *last* maximum (any one maximum is a valid subgradient)."""

    def route(self, window, m):
        flat = window.reshape(*window.shape[:2], -1)[..., ::-1]
        mask = np.zeros_like(flat)
        np.put_along_axis(mask, flat.argmax(axis=2)[..., None], 1, axis=2)
        return mask[..., ::-1].reshape(window.shape)


class MaxPoolAllTies(_LoopPool):
    """``mask = (window == max)``: every tied maximum gets the whole gradient."""

    def route(self, window, m):
        return (window == m[..., None, None]).astype(window.dtype)


class MaxPoolPaddingIgnored(_LoopPool):
    """Right only for padding 0: the constructor's padding is never applied."""

    def padding_used(self):
        return 0


class MaxPoolZeroPadding(_LoopPool):
    """Pads with zeros instead of −∞: a window of negative values at the border returns 0."""

    pad_value = 0.0


class MaxPoolStrideIsKernel(_LoopPool):
    """Assumes stride = kernel_size (the default) whatever the constructor was given."""

    def stride_used(self):
        return self.kernel_size


# --- torch Conv2dFunction --------------------------------------------------------------------------------


class ConvFunctionWeightGradFirstSample(Conv2dFunction):
    """``dW`` from the first sample only (``[0]`` where a sum over the batch is due)."""

    @staticmethod
    def backward(ctx, dout):
        dx, _dweight, dbias, _, _ = Conv2dFunction.backward(ctx, dout)
        x, weight = ctx.saved_tensors
        cols = F.unfold(x, weight.shape[2:], padding=ctx.padding, stride=ctx.stride)
        dout_cols = dout.reshape(dout.shape[0], dout.shape[1], -1)
        return dx, (dout_cols @ cols.transpose(1, 2))[0].reshape(weight.shape), dbias, None, None


class ConvFunctionNoPaddingInBackward(Conv2dFunction):
    """Backward folds without the padding and crops the top-left corner: wrong at the border for padding > 0."""

    @staticmethod
    def backward(ctx, dout):
        _, dweight, dbias, _, _ = Conv2dFunction.backward(ctx, dout)
        x, weight = ctx.saved_tensors
        ph, pw = ctx.padding
        size = (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
        dout_cols = dout.reshape(dout.shape[0], dout.shape[1], -1)
        dcols = weight.reshape(weight.shape[0], -1).T @ dout_cols
        dxp = F.fold(dcols, size, weight.shape[2:], stride=ctx.stride)
        return dxp[:, :, : x.shape[2], : x.shape[3]], dweight, dbias, None, None


class ConvFunctionViaAutograd(torch.autograd.Function):
    """Correct: the backward calls ``torch.nn.grad.conv2d_input``/``conv2d_weight``."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return F.conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        s, p = ctx.stride, ctx.padding
        dx = torch.nn.grad.conv2d_input(x.shape, weight, dout, stride=s, padding=p)
        dw = torch.nn.grad.conv2d_weight(x, weight.shape, dout, stride=s, padding=p)
        return dx, dw, dout.sum((0, 2, 3)), None, None


VARIANTS = [
    correct("conv2d", ConvLoops, "loops over output positions"),
    wrong("conv2d", ConvStrideIgnored, "forward", "interface", why="stride ignored (right only for stride 1)"),
    wrong("conv2d", ConvKernelFlipped, "forward", why="true convolution: kernel flipped"),
    wrong(
        "conv2d",
        ConvBackwardPaddingBorder,
        "input_gradient",
        "autograd_agreement",
        why="dx cropped at the wrong offset (wrong at the padding border)",
    ),
    wrong("conv2d", ConvBiasMean, "param_gradients", "batch_semantics", why="db averaged"),
    wrong("conv2d", ConvBiasNoSpatialSum, "param_gradients", why="db not summed over positions"),
    correct("maxpool2d", MaxPoolLoops, "loops over windows"),
    correct("maxpool2d", MaxPoolLastTie, "the last of tied maxima gets the gradient"),
    wrong("maxpool2d", MaxPoolAllTies, "invariants", why="every tied maximum gets the gradient"),
    wrong("maxpool2d", MaxPoolPaddingIgnored, "forward", "interface", why="padding ignored"),
    wrong("maxpool2d", MaxPoolZeroPadding, "forward", why="zero padding instead of −∞"),
    wrong("maxpool2d", MaxPoolStrideIsKernel, "forward", "interface", why="stride assumed equal to the kernel"),
    wrong(
        "conv2d_function",
        ConvFunctionWeightGradFirstSample,
        "param_gradients",
        "batch_semantics",
        why="dW from the first sample only",
    ),
    wrong(
        "conv2d_function",
        ConvFunctionNoPaddingInBackward,
        "input_gradient",
        "autograd_agreement",
        why="backward ignores the padding offset",
    ),
    correct("conv2d_function", ConvFunctionViaAutograd, "torch.nn.grad helpers in the backward"),
]
