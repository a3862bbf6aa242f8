"""Shared plumbing of the torch layers: argument checks (each raises ``ValueError`` naming what was
expected and what was given) and the parameters of the normalisation modules."""

from __future__ import annotations

import torch


def column_sums(t: torch.Tensor) -> torch.Tensor:
    """Σ_b t[b, :] of a (B, C) tensor, as the matrix-vector product tᵀ·1.

    On the CPU a reduction over dim 0 of a row-major matrix runs at about half the speed of BLAS's gemv, which
    reads each row once and accumulates into the C sums; the sums are the same up to rounding (gemv adds the
    B terms in order, torch.sum pairwise: both within B·ε of the exact sum, far below the batch noise).
    """
    return torch.mv(t.T, t.new_ones(t.shape[0]))


def check_features(owner: str, input: torch.Tensor, n_features: int, *, min_batch: int = 0) -> None:
    """Raise unless ``input`` has shape (B, n_features) with B >= ``min_batch``."""
    if input.dim() != 2 or input.shape[1] != n_features:
        raise ValueError(
            f"{owner}: expected input of shape (B, {n_features}), got {tuple(input.shape)}; "
            f"pass a 2-D tensor whose dim 1 has {n_features} features"
        )
    if input.shape[0] < min_batch:
        raise ValueError(
            f"{owner}: expected a batch of at least {min_batch} samples, got input of shape "
            f"{tuple(input.shape)}; training-mode batch statistics are undefined for a single sample "
            f"(its batch variance is 0, so x̂ = 0/0 before eps), pass B >= {min_batch}"
        )


def check_affine(owner: str, gamma: torch.Tensor, beta: torch.Tensor, n_features: int) -> None:
    """Raise unless ``gamma`` and ``beta`` both have shape (n_features,)."""
    if gamma.shape != (n_features,) or beta.shape != (n_features,):
        raise ValueError(
            f"{owner}: expected gamma and beta of shape ({n_features},) to match the input's features, "
            f"got {tuple(gamma.shape)} and {tuple(beta.shape)}"
        )


def check_finite(owner: str, input: torch.Tensor) -> None:
    """Raise if ``input`` holds NaN or infinity (one reduction and a host sync; modules only)."""
    if not bool(torch.isfinite(input).all()):
        raise ValueError(f"{owner}: expected finite input, got NaN or infinity in input of shape {tuple(input.shape)}")


class AffineNorm(torch.nn.Module):
    """Shared plumbing of the four normalisation modules: ``gamma`` (ones), ``beta`` (zeros) and ``eps``."""

    def __init__(self, n_neurons: int, eps: float = 1e-5) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(n_neurons, bool) or not isinstance(n_neurons, int) or n_neurons < 1:
            raise ValueError(f"{owner}: expected n_neurons to be a positive int, got {n_neurons!r}")
        if not eps >= 0:
            raise ValueError(f"{owner}: expected eps >= 0, got {eps!r}")
        self.n_neurons = n_neurons
        self.eps = float(eps)
        self.gamma = torch.nn.Parameter(torch.ones(n_neurons))
        self.beta = torch.nn.Parameter(torch.zeros(n_neurons))

    def extra_repr(self) -> str:
        return f"{self.n_neurons}, eps={self.eps}"
