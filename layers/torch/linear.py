r"""A linear layer as a derivation, with a backward that is itself differentiable.

Forward, for x of shape (B, in), W of shape (out, in) and b of shape (out,):

    y = x Wᵀ + b                       y_bo = Σ_i x_bi W_oi + b_o

Backward, with dout = ∂L/∂y of shape (B, out):

    dx = dout W                        (B, in)
    dW = doutᵀ x                       (out, in)
    db = Σ_b dout_b                    (out,)

The backward is written with differentiable torch ops on the saved inputs, so with ``create_graph=True``
autograd records it and double backward (``torch.autograd.gradgradcheck``) works: the Hessian-vector products
are again linear maps of x, W and dout. Leading batch dimensions beyond one are flattened for dW and db, as
``F.linear`` allows them.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["LinearFunction"]


class LinearFunction(torch.autograd.Function):
    r"""``apply(x, weight, bias)`` computes ``x Wᵀ + b`` (``bias`` may be ``None``) with a manual backward.

    Backward returns ``(dout W, doutᵀ x, Σ_b dout)`` (``None`` for inputs that need no gradient, and for a
    ``None`` bias), computed with differentiable ops so that double backward works.

    Raises:
        ValueError: ``x``'s last dimension differs from ``weight``'s in-features, or ``bias`` is not (out,).

    Example:
        >>> x, w = torch.randn(4, 3), torch.randn(2, 3)
        >>> torch.allclose(LinearFunction.apply(x, w, None), x @ w.T)
        True
        >>> LinearFunction.apply(torch.randn(4, 5), w, None)
        Traceback (most recent call last):
        ValueError: LinearFunction: expected x of shape (*, 3) to match weight (2, 3), got (4, 5)
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        _check_linear(x, weight, bias)
        ctx.save_for_backward(x, weight)
        y = x @ weight.T
        return y if bias is None else y.add_(bias)

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        dx = dout @ weight if need_x else None
        dweight = dout.reshape(-1, dout.shape[-1]).T @ x.reshape(-1, x.shape[-1]) if need_weight else None
        dbias = dout.reshape(-1, dout.shape[-1]).sum(0) if need_bias else None
        return dx, dweight, dbias


def _check_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if weight.dim() != 2 or x.dim() < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"LinearFunction: expected x of shape (*, {weight.shape[-1]}) to match weight "
            f"{tuple(weight.shape)}, got {tuple(x.shape)}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"LinearFunction: expected bias of shape ({weight.shape[0]},) to match weight "
            f"{tuple(weight.shape)}, got {tuple(bias.shape)}"
        )
