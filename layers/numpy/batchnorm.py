"""Batch normalisation in training mode (batch statistics, biased variance)."""

from __future__ import annotations

import numpy as np

from layers.numpy._base import Array, Module, finite_float, positive_int


class BatchNormModule(Module):
    """Batch normalisation of a (B, D) batch with the statistics of that batch.

    Forward, per feature column::

        μ = (1/B) Σ_b x_b,   σ² = (1/B) Σ_b (x_b − μ)²,   σ̂ = (σ² + ε)^(1/2)
        x̂ = (x − μ) / σ̂,    out = γ ⊙ x̂ + β

    Backward: ``dβ = Σ_b dout``, ``dγ = Σ_b dout ⊙ x̂`` and, with ``dx̂ = γ dout``,
    ``∂σ²/∂x = 2(x − μ)/B`` and ``∂σ̂⁻¹/∂σ² = −½ (σ² + ε)^(−3/2)``, the chain rule collapses to::

        dx = γ / (B σ̂) ⊙ (B dout − Σ_b dout − x̂ ⊙ Σ_b (dout ⊙ x̂))

    Args:
        n_neurons: the number of features ``D``; an int ≥ 1.
        eps: the variance offset ``ε``; a finite float > 0. Defaults to 1e-5.

    Raises:
        ValueError: ``n_neurons`` is not an int ≥ 1 or ``eps`` is not a finite float > 0.

    Examples:
        >>> BatchNormModule(2).forward(np.array([[0.0, 1.0], [2.0, 1.0]])).round(3)
        array([[-1.,  0.],
               [ 1.,  0.]])
        >>> BatchNormModule(2, eps=0.0)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: BatchNormModule: expected eps to be a finite float > 0, got 0.0
    """

    def __init__(self, n_neurons: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.n_neurons = positive_int(self._name, "n_neurons", n_neurons)
        self.eps = finite_float(self._name, "eps", eps, positive=True)
        self._init_params(gamma=np.ones(self.n_neurons), beta=np.zeros(self.n_neurons))

    def forward(self, x: Array) -> Array:
        """Returns ``γ ⊙ x̂ + β``; raises ValueError unless ``x`` is a finite (B, n_neurons) array."""
        x = self._input(x, ("B", self.n_neurons), check_finite=False)
        shape = (self.n_neurons,)
        gamma, beta = self._param("gamma", shape, x.dtype), self._param("beta", shape, x.dtype)
        mu = x.mean(axis=0)
        if not np.isfinite(mu).all():  # a finite column mean proves the column finite
            self._check_finite(x)
        x_mu = x - mu
        var = np.einsum("bd,bd->d", x_mu, x_mu) / x.shape[0]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        out: Array = x_mu * (gamma * inv_std)  # γ x̂ without materialising x̂
        out += beta
        self._cache = (x_mu, inv_std, gamma)
        return out

    def backward(self, dout: Array) -> Array:
        """Sets ``grads`` to ``dγ``, ``dβ`` and returns ``dx`` (formulas in the class docstring)."""
        x_mu, inv_std, gamma = self._saved()
        dout = self._dout(dout, x_mu.shape, x_mu.dtype)
        batch = x_mu.shape[0]
        dbeta = dout.sum(axis=0)
        dgamma = np.einsum("bd,bd->d", dout, x_mu) * inv_std  # Σ dout ⊙ x̂ with x̂ = (x − μ) σ̂⁻¹
        dx: Array = x_mu * (inv_std * dgamma / batch)  # x̂ ⊙ Σ(dout ⊙ x̂) / B
        np.subtract(dout, dx, out=dx)
        dx -= dbeta / batch
        dx *= gamma * inv_std
        self._set_grads(gamma=dgamma, beta=dbeta)
        return dx
