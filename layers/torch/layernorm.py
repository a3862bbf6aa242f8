r"""Layer normalisation over the feature dimension, as a derivation.

Forward, per sample b over its M features (biased variance):

    μ_b  = 1/M · Σ_j x_bj
    σ²_b = 1/M · Σ_j (x_bj − μ_b)²
    σ̂_b  = sqrt(σ²_b + ε)
    x̂_b  = (x_b − μ_b) / σ̂_b
    y_b  = γ ⊙ x̂_b + β

Backward, with dout = ∂L/∂y and dx̂ = γ ⊙ dout (γ is per feature, so here it sits inside the sums):

    dβ   = Σ_b dout_b
    dγ   = Σ_b dout_b ⊙ x̂_b
    dσ²_b = Σ_j dx̂_bj (x_bj − μ_b) · (−½)(σ²_b + ε)^(−3/2)
    dμ_b  = −Σ_j dx̂_bj / σ̂_b                                (the dσ² term is 0, Σ_j (x_bj − μ_b) = 0)
    dx_b  = dx̂_b / σ̂_b + dσ²_b · 2(x_b − μ_b)/M + dμ_b / M

which collapses to the compact form the Function implements:

    dx_b = 1/(M σ̂_b) · (M dx̂_b − Σ_j dx̂_bj − x̂_b Σ_j dx̂_bj x̂_bj).

Samples are independent, so any B >= 1 works; M = 1 gives x̂ = 0, y = β and dx = 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from layers.torch._common import AffineNorm, check_affine, check_features, check_finite, column_sums

__all__ = ["CustomLayerNormAutograd", "CustomLayerNormManualFunction", "CustomLayerNormManualModule"]


class CustomLayerNormManualFunction(torch.autograd.Function):
    r"""Layer norm of ``input[B, M]`` (statistics over dim 1) with a hand-written backward.

    ``apply(input, gamma, beta, eps=1e-5)`` returns ``γ ⊙ (x − μ)/sqrt(σ² + ε) + β`` with the biased
    per-sample statistics μ, σ² over dim 1. Backward returns ``(dx, dgamma, dbeta, None)``, with
    dx̂ = γ ⊙ dout:

        dx = 1/σ̂ ⊙ (dx̂ − mean_j dx̂ − x̂ ⊙ mean_j (dx̂ ⊙ x̂)),  dγ = Σ_b dout ⊙ x̂,  dβ = Σ_b dout,

    each ``None`` (and not computed) when ``ctx.needs_input_grad`` says the input needs none. Only x̂, γ and
    1/σ̂ are saved. The backward is once differentiable (x̂ is saved without a graph).

    Raises:
        ValueError: ``input`` is not 2-D, or ``gamma``/``beta`` are not (M,).

    Example:
        >>> x = torch.randn(4, 6, requires_grad=True)
        >>> y = CustomLayerNormManualFunction.apply(x, torch.ones(6), torch.zeros(6))
        >>> y.mean(1).abs().max() < 1e-6
        tensor(True)
        >>> CustomLayerNormManualFunction.apply(x, torch.ones(5), torch.zeros(5))
        Traceback (most recent call last):
        ValueError: CustomLayerNormManualFunction: expected gamma and beta of shape (6,) ...
    """

    @staticmethod
    def forward(
        ctx: Any, input: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5
    ) -> torch.Tensor:
        n_features = input.shape[-1] if input.dim() else 0
        check_features("CustomLayerNormManualFunction", input, n_features)
        check_affine("CustomLayerNormManualFunction", gamma, beta, n_features)
        mu = input.mean(dim=1, keepdim=True)
        x_hat = input - mu  # x − μ for now, scaled to x̂ in place below
        out = x_hat * x_hat  # (x − μ)², then reused as y's buffer: each (B, M) allocation costs page faults
        inv_std = torch.rsqrt(out.mean(dim=1, keepdim=True).add_(eps))
        x_hat.mul_(inv_std)
        ctx.save_for_backward(x_hat, gamma, inv_std)
        return torch.addcmul(beta, x_hat, gamma, out=out)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x_hat, gamma, inv_std = ctx.saved_tensors
        need_x, need_gamma, need_beta = ctx.needs_input_grad[:3]
        dbeta = column_sums(dout) if need_beta else None
        if not need_x:
            return None, column_sums(dout * x_hat) if need_gamma else None, dbeta, None
        dx, dgamma = _layer_norm_vjp(dout, x_hat, gamma, inv_std)
        return dx, dgamma if need_gamma else None, dbeta, None


def _layer_norm_vjp(
    dout: torch.Tensor, x_hat: torch.Tensor, gamma: torch.Tensor, inv_std: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(dx, dγ) in one (B, M) buffer: dx = (dx̂ − mean_j dx̂ − x̂ ⊙ mean_j(dx̂ ⊙ x̂)) / σ̂ with dx̂ = γ ⊙ dout.

    γ is per feature, so the two row means are matrix-vector products with γ: mean_j dx̂ = (dout γ)/M and
    mean_j (dx̂ ⊙ x̂) = ((dout ⊙ x̂) γ)/M; dout ⊙ x̂ also gives dγ = Σ_b dout ⊙ x̂. Only one (B, M) tensor
    is allocated (a fresh allocation costs more than a pass over it); it holds dout ⊙ x̂, then dx.
    """
    inv_m = 1.0 / dout.shape[1]
    buf = dout * x_hat
    dgamma = column_sums(buf)
    mean_dx_hat_x_hat = torch.mv(buf, gamma).mul_(inv_m)[:, None]
    mean_dx_hat = torch.mv(dout, gamma).mul_(-inv_m)[:, None]
    dx = torch.addcmul(mean_dx_hat, dout, gamma, out=buf)  # dx̂ − mean_j dx̂, over dout ⊙ x̂ (now consumed)
    return dx.addcmul_(x_hat, mean_dx_hat_x_hat, value=-1).mul_(inv_std), dgamma


class CustomLayerNormAutograd(AffineNorm):
    r"""Layer norm whose forward is composed of autograd ops; autograd derives the backward.

    ``forward(input[B, n_neurons])`` computes ``γ ⊙ (x − μ)/sqrt(σ² + ε) + β`` with the biased statistics of
    each sample over dim 1.

    Args:
        n_neurons: number of features M; ``gamma`` (ones) and ``beta`` (zeros) are ``nn.Parameter``\ s
            of shape (M,).
        eps: added to the variance, default 1e-5.

    Raises:
        ValueError: input not (B, n_neurons), or non-finite input.

    Example:
        >>> ln = CustomLayerNormAutograd(3)
        >>> ln(torch.randn(1, 3)).shape
        torch.Size([1, 3])
        >>> ln(torch.randn(3))
        Traceback (most recent call last):
        ValueError: CustomLayerNormAutograd: expected input of shape (B, 3), got (3,); ...
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        _check_layer_input(type(self).__name__, input, self.n_neurons)
        mu = input.mean(dim=1, keepdim=True)
        var = ((input - mu) ** 2).mean(dim=1, keepdim=True)
        x_hat = (input - mu) / torch.sqrt(var + self.eps)
        return self.gamma * x_hat + self.beta


class CustomLayerNormManualModule(AffineNorm):
    r"""Layer norm module that runs :class:`CustomLayerNormManualFunction` (manual backward).

    Args:
        n_neurons: number of features M; ``gamma`` (ones) and ``beta`` (zeros) are ``nn.Parameter``\ s
            of shape (M,).
        eps: added to the variance, default 1e-5.

    Raises:
        ValueError: input not (B, n_neurons), or non-finite input.

    Example:
        >>> ln = CustomLayerNormManualModule(3)
        >>> ln(torch.randn(2, 3)).shape
        torch.Size([2, 3])
        >>> ln(torch.randn(2, 4))
        Traceback (most recent call last):
        ValueError: CustomLayerNormManualModule: expected input of shape (B, 3), got (2, 4); ...
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        _check_layer_input(type(self).__name__, input, self.n_neurons)
        return CustomLayerNormManualFunction.apply(input, self.gamma, self.beta, self.eps)


def _check_layer_input(owner: str, input: torch.Tensor, n_neurons: int) -> None:
    check_features(owner, input, n_neurons)
    check_finite(owner, input)
