"""Six layers without a built-in kind, each with a wrong twin: the subjects of the ``auto`` checks.

Each correct layer keeps its backward next to its forward with the formula in the docstring; each wrong twin
makes one realistic mistake in the backward only (its forward is right), so only gradient properties can tell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))
C3 = 0.044715


# --- GELU (tanh form), NumPy module -----------------------------------------------------------------------


class GELUModule:
    """y = ½x(1 + tanh u), u = √(2/π)(x + c x³); dy/dx = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3c x²)."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + C3 * x**3)))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x = self.x
        assert x is not None
        t = np.tanh(SQRT_2_OVER_PI * (x + C3 * x**3))
        return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * C3 * x * x))


class GELUModuleWrong(GELUModule):
    """Wrong: the inner derivative du/dx drops the cubic term's 3c x²."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x = self.x
        assert x is not None
        t = np.tanh(SQRT_2_OVER_PI * (x + C3 * x**3))
        return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI)


# --- Swish / SiLU with a fixed β, torch.autograd.Function --------------------------------------------------


class SwishFunction(torch.autograd.Function):
    """y = x σ(βx); dy/dx = σ(βx) + βx σ(βx)(1 − σ(βx)); β is a fixed float argument."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, beta: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.beta = beta
        return x * torch.sigmoid(beta * x)

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(ctx.beta * x)  # recomputed from x, so that the backward is differentiable too
        return dout * (s + ctx.beta * x * s * (1 - s)), None


class SwishFunctionWrong(SwishFunction):
    """Wrong: the β of the inner derivative is forgotten (right only at β = 1)."""

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(ctx.beta * x)
        return dout * (s + x * s * (1 - s)), None


# --- softmax attention, torch.autograd.Function ------------------------------------------------------------


class AttentionFunction(torch.autograd.Function):
    """O = P V, P = softmax(Q Kᵀ / √d) over keys (P is saved from forward: right first derivatives, while its
    double backward misses P's dependence on Q and K, which the auto check reports as a warning).

    dV = Pᵀ dO; dP = dO Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dQ = dS K / √d; dK = dSᵀ Q / √d.
    """

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scale = q.shape[-1] ** -0.5
        s = q @ k.transpose(-1, -2) * scale
        p = torch.softmax(s, dim=-1)
        ctx.save_for_backward(q, k, v, p)
        ctx.scale = scale
        return p @ v

    @staticmethod
    def backward(ctx: Any, do: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v, p = ctx.saved_tensors
        dv = p.transpose(-1, -2) @ do
        dp = do @ v.transpose(-1, -2)
        ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True))
        return ds @ k * ctx.scale, ds.transpose(-1, -2) @ q * ctx.scale, dv


class AttentionFunctionWrong(AttentionFunction):
    """Wrong: the softmax backward omits the row term (dS = P ⊙ dP)."""

    @staticmethod
    def backward(ctx: Any, do: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v, p = ctx.saved_tensors
        dv = p.transpose(-1, -2) @ do
        ds = p * (do @ v.transpose(-1, -2))
        return ds @ k * ctx.scale, ds.transpose(-1, -2) @ q * ctx.scale, dv


# --- dropout with a fixed mask (from a seed), NumPy module ------------------------------------------------


class FixedDropoutModule:
    """Inverted dropout, its mask drawn from ``seed`` on every call: y = x ⊙ m / (1 − p); dx = dout ⊙ m / (1 − p)."""

    def __init__(self, p: float = 0.5, seed: int = 0) -> None:
        self.p, self.seed = p, seed
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        keep = np.random.default_rng(self.seed).random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        assert self.mask is not None
        return dout * self.mask


class FixedDropoutModuleWrong(FixedDropoutModule):
    """Wrong: the backward applies the mask but not the 1/(1 − p) rescaling."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        assert self.mask is not None
        return dout * (self.mask != 0)


# --- 1-d convolution (cross-correlation, no padding), NumPy module ----------------------------------------


class Conv1dModule:
    """y[b, o, t] = Σ_c Σ_j W[o, c, j] x[b, c, t + j] + bias[o] (valid positions only).

    dx[b, c, t + j] += Σ_o W[o, c, j] dy[b, o, t]; dW[o, c, j] = Σ_b Σ_t dy[b, o, t] x[b, c, t + j]; dbias = Σ_{b,t} dy.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        rng = np.random.default_rng(0)
        fan_in = in_channels * kernel_size
        self.params = {
            "weight": rng.standard_normal((out_channels, in_channels, kernel_size)) / np.sqrt(fan_in),
            "bias": np.zeros(out_channels),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.x: np.ndarray | None = None

    def _windows(self, x: np.ndarray) -> np.ndarray:
        k = self.params["weight"].shape[2]
        return np.lib.stride_tricks.sliding_window_view(x, k, axis=2)  # (B, C, T, K)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        w, b = self.params["weight"].astype(x.dtype), self.params["bias"].astype(x.dtype)
        return np.einsum("bctj,ocj->bot", self._windows(x), w) + b[None, :, None]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        x = self.x
        assert x is not None
        w = self.params["weight"].astype(x.dtype)
        k = w.shape[2]
        self.grads["weight"] = np.einsum("bot,bctj->ocj", dout, self._windows(x))
        self.grads["bias"] = self._bias_grad(dout)
        dx = np.zeros_like(x)
        t = dout.shape[2]
        for j in range(k):
            dx[:, :, j : j + t] += np.einsum("bot,oc->bct", dout, w[:, :, j])
        return dx

    def _bias_grad(self, dout: np.ndarray) -> np.ndarray:
        return dout.sum(axis=(0, 2))


class Conv1dModuleWrong(Conv1dModule):
    """Wrong: the bias gradient averages over the batch instead of summing."""

    def _bias_grad(self, dout: np.ndarray) -> np.ndarray:
        return dout.mean(axis=0).sum(axis=1)


# --- GRU cell: nn.Module with a manual-backward Function inside -------------------------------------------


class GRUCellFunction(torch.autograd.Function):
    """h' = (1 − z) ⊙ n + z ⊙ h with r, z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (PyTorch's GRUCell).

    dn = g(1 − z), dz = g(h − n); a_n = dn(1 − n²), a_z = dz z(1 − z), a_r = (a_n ⊙ hn) r(1 − r);
    gi = [a_r, a_z, a_n], gh = [a_r, a_z, a_n ⊙ r]; dx = gi W_ih, dh = g z + gh W_hh, dW_ih = giᵀx, dW_hh = ghᵀh.
    """

    @staticmethod
    def forward(ctx: Any, x: Any, h: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
        gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        ctx.save_for_backward(x, h, w_ih, w_hh, r, z, n, h_n)
        return (1 - z) * n + z * h

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        x, h, w_ih, w_hh, r, z, n, h_n = ctx.saved_tensors
        a_n = g * (1 - z) * (1 - n * n)
        a_z = g * (h - n) * z * (1 - z)
        a_r = a_n * h_n * r * (1 - r)
        d_gi = torch.cat([a_r, a_z, a_n], dim=1)
        d_gh = torch.cat([a_r, a_z, a_n * r], dim=1)
        dh = d_gh @ w_hh + g * z  # the last term: the direct path z ⊙ h
        return d_gi @ w_ih, dh, d_gi.T @ x, d_gh.T @ h, d_gi.sum(0), d_gh.sum(0)


class GRUCellFunctionWrong(GRUCellFunction):
    """Wrong: the direct path z ⊙ h is forgotten in dh."""

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        x, h, w_ih, w_hh, r, z, n, h_n = ctx.saved_tensors
        a_n = g * (1 - z) * (1 - n * n)
        a_z = g * (h - n) * z * (1 - z)
        a_r = a_n * h_n * r * (1 - r)
        d_gi = torch.cat([a_r, a_z, a_n], dim=1)
        d_gh = torch.cat([a_r, a_z, a_n * r], dim=1)
        return d_gi @ w_ih, d_gh @ w_hh, d_gi.T @ x, d_gh.T @ h, d_gi.sum(0), d_gh.sum(0)


class GRUCell(torch.nn.Module):
    """A GRU cell, ``forward(x, h) -> h'``, with its manual backward in :class:`GRUCellFunction`."""

    function: Any = GRUCellFunction

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        bound = hidden_size**-0.5
        self.weight_ih = torch.nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = torch.nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = torch.nn.Parameter(torch.empty(3 * hidden_size).uniform_(-bound, bound))
        self.bias_hh = torch.nn.Parameter(torch.empty(3 * hidden_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.function.apply(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class GRUCellWrong(GRUCell):
    """The GRU cell with the wrong backward of :class:`GRUCellFunctionWrong`."""

    function = GRUCellFunctionWrong
