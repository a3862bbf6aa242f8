r"""Batch normalisation over the batch dimension, training mode, as a derivation.

Forward, per feature c over the B samples of a batch (biased variance):

    μ    = 1/B · Σ_b x_b
    σ²   = 1/B · Σ_b (x_b − μ)²
    σ̂    = sqrt(σ² + ε)
    x̂    = (x − μ) / σ̂
    y    = γ ⊙ x̂ + β

Backward, with dout = ∂L/∂y and dx̂ = γ ⊙ dout:

    dβ   = Σ_b dout_b
    dγ   = Σ_b dout_b ⊙ x̂_b
    dσ²  = Σ_b dx̂_b (x_b − μ) · (−½)(σ² + ε)^(−3/2)          (the exponent is −3/2, not −2/3)
    dμ   = −Σ_b dx̂_b / σ̂  + dσ² · (−2/B) Σ_b (x_b − μ)        (the second term is 0)
    dx   = dx̂ / σ̂ + dσ² · 2(x − μ)/B + dμ / B

which, substituting x − μ = σ̂ x̂, collapses to the compact form the Function implements:

    dx   = γ / (B σ̂) ⊙ (B · dout − Σ_b dout_b − x̂ ⊙ Σ_b dout_b x̂_b)
         = γ/σ̂ ⊙ (dout − dβ/B − x̂ ⊙ dγ/B).

Every sample's output depends on every other sample of the batch, so B = 1 is refused: one sample has
batch variance 0 and x̂ = 0/0 before ε, i.e. the statistics are undefined.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from layers.torch._common import AffineNorm, check_affine, check_features, check_finite, column_sums

__all__ = ["CustomBatchNormAutograd", "CustomBatchNormManualFunction", "CustomBatchNormManualModule"]


class CustomBatchNormManualFunction(torch.autograd.Function):
    r"""Training-mode batch norm of ``input[B, C]`` with a hand-written backward.

    ``apply(input, gamma, beta, eps=1e-5)`` returns ``γ ⊙ (x − μ)/sqrt(σ² + ε) + β`` with the biased batch
    statistics μ, σ² over dim 0. Backward returns ``(dx, dgamma, dbeta, None)``:

        dx = γ/σ̂ ⊙ (dout − Σ_b dout/B − x̂ ⊙ Σ_b (dout ⊙ x̂)/B),  dγ = Σ_b dout ⊙ x̂,  dβ = Σ_b dout,

    each ``None`` (and not computed) when ``ctx.needs_input_grad`` says the input needs none. Only x − μ, γ/σ̂
    and 1/σ̂ are saved (x̂ = (x − μ)/σ̂ is never formed: 1/σ̂ is folded into per-feature factors, which saves
    a pass over the batch each way). The backward is once differentiable (x − μ is saved without a graph).

    Raises:
        ValueError: ``input`` is not (B, C) with B >= 2, or ``gamma``/``beta`` are not (C,).

    Example:
        >>> x = torch.randn(8, 3, requires_grad=True)
        >>> y = CustomBatchNormManualFunction.apply(x, torch.ones(3), torch.zeros(3))
        >>> y.mean(0).abs().max() < 1e-6
        tensor(True)
        >>> CustomBatchNormManualFunction.apply(x[:1], torch.ones(3), torch.zeros(3))
        Traceback (most recent call last):
        ValueError: CustomBatchNormManualFunction: expected a batch of at least 2 samples, ...
    """

    @staticmethod
    def forward(
        ctx: Any, input: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5
    ) -> torch.Tensor:
        n_features = input.shape[-1] if input.dim() else 0
        check_features("CustomBatchNormManualFunction", input, n_features, min_batch=2)
        check_affine("CustomBatchNormManualFunction", gamma, beta, n_features)
        n = input.shape[0]
        mu = column_sums(input).div_(n)
        x_mu = input - mu
        out = x_mu * x_mu  # (x − μ)², then reused as y's buffer: each (B, C) allocation costs page faults
        inv_std = torch.rsqrt(column_sums(out).div_(n).add_(eps))
        scale = gamma * inv_std  # y = (x − μ) ⊙ γ/σ̂ + β: x̂ is never formed, its 1/σ̂ rides on γ
        ctx.save_for_backward(x_mu, scale, inv_std)
        return torch.addcmul(beta, x_mu, scale, out=out)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x_mu, scale, inv_std = ctx.saved_tensors
        need_x, need_gamma, need_beta = ctx.needs_input_grad[:3]
        if need_x:  # dx needs both sums, whether or not dγ and dβ are wanted
            dx, dgamma, dbeta = _batch_norm_vjp(dout, x_mu, scale, inv_std)
            return dx, dgamma if need_gamma else None, dbeta if need_beta else None, None
        dgamma_alone = column_sums(dout * x_mu).mul_(inv_std) if need_gamma else None
        return None, dgamma_alone, column_sums(dout) if need_beta else None, None


def _batch_norm_vjp(
    dout: torch.Tensor, x_mu: torch.Tensor, scale: torch.Tensor, inv_std: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx, dγ, dβ), with x̂ = (x − μ)/σ̂ and k = γ/σ̂ folded into per-feature factors.

    dγ = Σ_b dout ⊙ (x − μ) / σ̂,  dβ = Σ_b dout,  dx = k ⊙ dout − k ⊙ dβ/B − (x − μ) ⊙ (k ⊙ dγ/σ̂)/B:
    two passes over (B, C) for the sums (as gemv, :func:`column_sums`) and two for dx, all in the one (B, C)
    buffer that becomes dx.
    """
    n = dout.shape[0]
    buf = dout * x_mu
    dgamma, dbeta = column_sums(buf).mul_(inv_std), column_sums(dout)
    dx = torch.addcmul(torch.mul(scale, dbeta).mul_(-1 / n), dout, scale, out=buf)
    return dx.addcmul_(x_mu, torch.mul(scale, dgamma).mul_(inv_std), value=-1 / n), dgamma, dbeta


class CustomBatchNormAutograd(AffineNorm):
    r"""Batch norm whose forward is composed of autograd ops; autograd derives the backward.

    ``forward(input[B, n_neurons])`` computes ``γ ⊙ (x − μ)/sqrt(σ² + ε) + β`` with the biased batch
    statistics over dim 0 (training mode, no running statistics).

    Args:
        n_neurons: number of features C; ``gamma`` (ones) and ``beta`` (zeros) are ``nn.Parameter``\ s
            of shape (C,).
        eps: added to the variance, default 1e-5.

    Raises:
        ValueError: input not (B, n_neurons), B = 1 (the batch variance is undefined), or non-finite input.

    Example:
        >>> bn = CustomBatchNormAutograd(3)
        >>> bn(torch.randn(4, 3)).shape
        torch.Size([4, 3])
        >>> bn(torch.randn(4, 5))
        Traceback (most recent call last):
        ValueError: CustomBatchNormAutograd: expected input of shape (B, 3), got (4, 5); ...
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        _check_batch_input(type(self).__name__, input, self.n_neurons)
        mu = input.mean(dim=0)
        var = ((input - mu) ** 2).mean(dim=0)
        x_hat = (input - mu) / torch.sqrt(var + self.eps)
        return self.gamma * x_hat + self.beta


class CustomBatchNormManualModule(AffineNorm):
    r"""Batch norm module that runs :class:`CustomBatchNormManualFunction` (manual backward).

    Args:
        n_neurons: number of features C; ``gamma`` (ones) and ``beta`` (zeros) are ``nn.Parameter``\ s
            of shape (C,).
        eps: added to the variance, default 1e-5.

    Raises:
        ValueError: input not (B, n_neurons), B = 1 (the batch variance is undefined), or non-finite input.

    Example:
        >>> bn = CustomBatchNormManualModule(3)
        >>> bn(torch.randn(4, 3)).shape
        torch.Size([4, 3])
        >>> bn(torch.randn(1, 3))
        Traceback (most recent call last):
        ValueError: CustomBatchNormManualModule: expected a batch of at least 2 samples, ...
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        _check_batch_input(type(self).__name__, input, self.n_neurons)
        return CustomBatchNormManualFunction.apply(input, self.gamma, self.beta, self.eps)


def _check_batch_input(owner: str, input: torch.Tensor, n_neurons: int) -> None:
    check_features(owner, input, n_neurons, min_batch=2)
    check_finite(owner, input)
