"""Variants of the torch ``LinearFunction`` (``apply(x, weight, bias)``, double backward supported)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from layers.torch import LinearFunction

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong


class LinearFunctionGradsWrongOrder(torch.autograd.Function):
    """Returns ``(dW, dx, db)``: the first two gradients in each other's place."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        return dout.T @ x, dout @ weight, dout.sum(0)


class LinearFunctionClassState(torch.autograd.Function):
    """Saves x and W on the class instead of ctx: a later forward overwrites them."""

    saved: tuple = ()

    @staticmethod
    def forward(ctx, x, weight, bias):
        LinearFunctionClassState.saved = (x.detach(), weight.detach())
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = LinearFunctionClassState.saved
        return dout @ weight, dout.T @ x, dout.sum(0)


class LinearFunctionNumpyBackward(torch.autograd.Function):
    """Backward computed in NumPy and wrapped back: right values, but no graph for double backward."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = (t.detach().numpy() for t in ctx.saved_tensors)
        d = dout.detach().numpy()
        return tuple(torch.from_numpy(np.ascontiguousarray(g)) for g in (d @ weight, d.T @ x, d.sum(0)))


class LinearFunctionBiasMean(LinearFunction):
    """The bias gradient averaged over the batch."""

    @staticmethod
    def backward(ctx, dout):
        dx, dweight, dbias = LinearFunction.backward(ctx, dout)
        return dx, dweight, None if dbias is None else dbias / dout.shape[0]


class LinearFunctionPlaceholderForFrozenX(torch.autograd.Function):
    """Correct: returns a placeholder ``zeros(1)`` for x when x needs no gradient (autograd discards it)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        dx = dout @ weight if ctx.needs_input_grad[0] else torch.zeros(1, dtype=dout.dtype)
        return dx, dout.T @ x, dout.sum(0)


class LinearFunctionSkipsWeightWhenXFrozen(torch.autograd.Function):
    """Computes dW and db only inside ``if needs_input_grad[0]``: frozen inputs lose the weight gradient."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None
        return dout @ weight, dout.T @ x, dout.sum(0)


class LinearFunctionFloat32Backward(torch.autograd.Function):
    """Backward casts to float32 "for speed", also in a float64 run."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        d, x32, w32 = dout.float(), x.float(), weight.float()
        return (d @ w32).to(x.dtype), (d.T @ x32).to(x.dtype), d.sum(0).to(x.dtype)


class LinearFunctionEinsum(torch.autograd.Function):
    """Correct: einsum forward and backward (differentiable, so double backward works)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return torch.einsum("bi,oi->bo", x, weight) + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        dx = torch.einsum("bo,oi->bi", dout, weight) if ctx.needs_input_grad[0] else None
        dw = torch.einsum("bo,bi->oi", dout, x) if ctx.needs_input_grad[1] else None
        db = dout.sum(0) if ctx.needs_input_grad[2] else None
        return dx, dw, db


class LinearFunctionAlwaysAllGrads(torch.autograd.Function):
    """Correct: ignores ``needs_input_grad`` and returns every gradient (autograd drops the unneeded ones)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        return dout @ weight, dout.T @ x, dout.sum(0)


VARIANTS = [
    wrong(
        "linear_function",
        LinearFunctionGradsWrongOrder,
        "interface",
        "input_gradient",
        why="(dW, dx, db) returned in the wrong order",
    ),
    wrong("linear_function", LinearFunctionClassState, "state", why="x, W stored on the class, not ctx"),
    wrong(
        "linear_function",
        LinearFunctionNumpyBackward,
        "double_backward",
        why="backward through NumPy: no graph for double backward",
    ),
    wrong("linear_function", LinearFunctionBiasMean, "param_gradients", "batch_semantics", why="db averaged"),
    wrong(
        "linear_function",
        LinearFunctionSkipsWeightWhenXFrozen,
        "interface",
        why="dW, db only computed when x needs a gradient",
    ),
    wrong(
        "linear_function",
        LinearFunctionFloat32Backward,
        "input_gradient",
        "autograd_agreement",
        why="backward in float32 in a float64 run",
    ),
    correct("linear_function", LinearFunctionEinsum, "einsum, needs_input_grad honoured"),
    correct("linear_function", LinearFunctionAlwaysAllGrads, "every gradient, regardless of need"),
    correct("linear_function", LinearFunctionPlaceholderForFrozenX, "a placeholder where no gradient is needed"),
]
