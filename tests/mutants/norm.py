"""Variants of batch norm (NumPy module, torch Function, nn.Module) and layer norm (Function, nn.Module)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from layers.numpy import BatchNormModule
from layers.torch import CustomBatchNormManualFunction, CustomLayerNormManualFunction
from layers.torch._common import AffineNorm

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong

# --- NumPy batch norm ------------------------------------------------------------------------------------


class _BatchNorm(BatchNormModule):
    """Forward caching (x, μ, σ², x̂, γ); subclasses change one line."""

    ddof = 0

    def forward(self, x):
        x = np.asarray(x)
        gamma = self.params["gamma"].astype(x.dtype)
        beta = self.params["beta"].astype(x.dtype)
        mu = x.mean(axis=0)
        var = x.var(axis=0, ddof=self.ddof)
        x_hat = (x - mu) / np.sqrt(var + self.eps_used())
        self._cache = (x, mu, var, x_hat, gamma)
        return gamma * x_hat + beta

    def eps_used(self):
        return self.eps

    def backward(self, dout):
        x, mu, var, x_hat, gamma = self._saved()
        dout = np.asarray(dout, dtype=x.dtype)
        dx, dgamma, dbeta = self.grads_at(dout, x, mu, var, x_hat, gamma)
        self._set_grads(gamma=dgamma, beta=dbeta)
        return dx

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        dx = gamma / (b * np.sqrt(var + self.eps)) * (b * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta


class BatchNormUnbiasedVariance(_BatchNorm):
    """``x.var(ddof=1)``: the unbiased variance where the biased one is due."""

    ddof = 1


class BatchNormEpsIgnored(_BatchNorm):
    """Uses ε = 1e-5 whatever the constructor was given."""

    def eps_used(self):
        return 1e-5

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        dx = gamma / (b * np.sqrt(var + 1e-5)) * (b * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta


class BatchNormEpsOutsideSqrt(_BatchNorm):
    """``(x − μ) / (√σ² + ε)``: the epsilon outside the square root (the backward is the reference one)."""

    def forward(self, x):
        x = np.asarray(x)
        gamma, beta = self.params["gamma"].astype(x.dtype), self.params["beta"].astype(x.dtype)
        mu, var = x.mean(axis=0), x.var(axis=0)
        x_hat = (x - mu) / (np.sqrt(var) + self.eps)
        self._cache = (x, mu, var, x_hat, gamma)
        return gamma * x_hat + beta


class BatchNormExponentTwoThirds(_BatchNorm):
    """The long backward with ``(σ² + ε)^(−2/3)`` where ``−3/2`` is due (the report's eq. 17–24)."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        dx_hat = dout * gamma
        dvar = (dx_hat * (x - mu)).sum(axis=0) * -0.5 * (var + self.eps) ** (-2 / 3)
        dmu = -dx_hat.sum(axis=0) / np.sqrt(var + self.eps)
        dx = dx_hat / np.sqrt(var + self.eps) + dvar * 2 * (x - mu) / b + dmu / b
        return dx, dgamma, dbeta


class BatchNormMissingMeanTerm(_BatchNorm):
    """The compact backward without the ``−Σ_b dout`` term (the path through μ forgotten)."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        dx = gamma / (b * np.sqrt(var + self.eps)) * (b * dout - x_hat * dgamma)
        return dx, dgamma, dbeta


class BatchNormDgammaNotSummed(_BatchNorm):
    """``dγ = dout ⊙ x̂`` (B, D): the sum over the batch forgotten."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        dx, _, dbeta = super().grads_at(dout, x, mu, var, x_hat, gamma)
        return dx, dout * x_hat, dbeta


class BatchNormDbetaMean(_BatchNorm):
    """``dβ = mean_b dout``: averaged instead of summed."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        dx, dgamma, dbeta = super().grads_at(dout, x, mu, var, x_hat, gamma)
        return dx, dgamma, dbeta / x.shape[0]


class BatchNormCenteresInPlace(_BatchNorm):
    """``x -= μ`` on the caller's array."""

    def forward(self, x):
        x -= x.mean(axis=0)
        return super().forward(x)


class BatchNormLongBackward(_BatchNorm):
    """Correct: the long backward (dσ², dμ, then dx) with the right exponent −3/2, mean term included."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        dx_hat = dout * gamma
        dvar = (dx_hat * (x - mu)).sum(axis=0) * -0.5 * (var + self.eps) ** -1.5
        dmu = -dx_hat.sum(axis=0) / np.sqrt(var + self.eps) + dvar * -2 * (x - mu).mean(axis=0)
        dx = dx_hat / np.sqrt(var + self.eps) + dvar * 2 * (x - mu) / b + dmu / b
        return dx, dgamma, dbeta


class BatchNormGraphBackward(_BatchNorm):
    """Correct: backprop through the computational graph step by step (Kratzert's staged version)."""

    def grads_at(self, dout, x, mu, var, x_hat, gamma):
        b = x.shape[0]
        xmu = x - mu
        sqrtvar = np.sqrt(var + self.eps)
        ivar = 1 / sqrtvar
        dbeta, dgamma = dout.sum(axis=0), (dout * x_hat).sum(axis=0)
        dxhat = dout * gamma
        divar = (dxhat * xmu).sum(axis=0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -divar / sqrtvar**2
        dvar = 0.5 * dsqrtvar / sqrtvar
        dsq = np.ones_like(x) * dvar / b
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -dx1.sum(axis=0)
        dx2 = np.ones_like(x) * dmu / b
        return dx1 + dx2, dgamma, dbeta


# --- torch Functions -------------------------------------------------------------------------------------


class BatchNormFunctionGradsSwapped(torch.autograd.Function):
    """Returns ``(dx, dβ, dγ, None)``: γ's and β's gradients in each other's place (same shapes)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        mu, var = input.mean(0), input.var(0, unbiased=False)
        x_hat = (input - mu) / torch.sqrt(var + eps)
        ctx.save_for_backward(x_hat, gamma, var)
        ctx.eps = eps
        return gamma * x_hat + beta

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, var = ctx.saved_tensors
        b = dout.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(0), dout.sum(0)
        dx = gamma / (b * torch.sqrt(var + ctx.eps)) * (b * dout - dbeta - x_hat * dgamma)
        return dx, dbeta, dgamma, None


class BatchNormFunctionNeedsInputGrad(BatchNormFunctionGradsSwapped):
    """Honours ``needs_input_grad`` wrongly: returns a placeholder ``zeros(1)`` for γ and β when x needs none."""

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, var = ctx.saved_tensors
        b = dout.shape[0]
        if not ctx.needs_input_grad[0]:
            return None, torch.zeros(1, dtype=dout.dtype), torch.zeros(1, dtype=dout.dtype), None
        dgamma, dbeta = (dout * x_hat).sum(0), dout.sum(0)
        dx = gamma / (b * torch.sqrt(var + ctx.eps)) * (b * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta, None


class BatchNormFunctionFloat16(CustomBatchNormManualFunction):
    """Forward computes the statistics in float16 ("mixed precision")."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        half = input.to(torch.float16)
        mu = half.mean(0).to(input.dtype)
        var = ((half - half.mean(0)) ** 2).mean(0).to(input.dtype)
        inv_std = torch.rsqrt(var + eps)
        x_mu = input - mu
        ctx.save_for_backward(x_mu, gamma * inv_std, inv_std)
        return x_mu * gamma * inv_std + beta


class BatchNormFunctionSavedThenModified(torch.autograd.Function):
    """Stores x̂ on ctx as an attribute, then turns the same tensor into the output in place."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        mu, var = input.mean(0), input.var(0, unbiased=False)
        x_hat = (input - mu) / torch.sqrt(var + eps)
        ctx.x_hat, ctx.gamma, ctx.inv_std = x_hat, gamma, torch.rsqrt(var + eps)
        return x_hat.mul_(gamma).add_(beta)

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, inv_std = ctx.x_hat, ctx.gamma, ctx.inv_std
        b = dout.shape[0]
        dgamma, dbeta = (dout * x_hat).sum(0), dout.sum(0)
        dx = gamma * inv_std / b * (b * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta, None


class LayerNormFunctionWrongAxis(torch.autograd.Function):
    """Layer norm with the statistics over the batch (dim 0), i.e. batch norm."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        return CustomBatchNormManualFunction.forward(ctx, input, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        return CustomBatchNormManualFunction.backward(ctx, dout)


class LayerNormFunctionClassState(torch.autograd.Function):
    """Keeps x̂ and 1/σ̂ on the class ("it's just one layer"): a later forward overwrites them."""

    saved: tuple = ()

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        mu = input.mean(1, keepdim=True)
        inv_std = torch.rsqrt(input.var(1, unbiased=False, keepdim=True) + eps)
        x_hat = (input - mu) * inv_std
        LayerNormFunctionClassState.saved = (x_hat, gamma, inv_std)
        return gamma * x_hat + beta

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, inv_std = LayerNormFunctionClassState.saved
        dx_hat = dout * gamma
        dx = inv_std * (dx_hat - dx_hat.mean(1, keepdim=True) - x_hat * (dx_hat * x_hat).mean(1, keepdim=True))
        return dx, (dout * x_hat).sum(0), dout.sum(0), None


class LayerNormFunctionGammaOverB(CustomLayerNormManualFunction):
    """dγ and dβ divided by the batch size."""

    @staticmethod
    def backward(ctx, dout):
        dx, dgamma, dbeta, _ = CustomLayerNormManualFunction.backward(ctx, dout)
        b = dout.shape[0]
        return dx, None if dgamma is None else dgamma / b, None if dbeta is None else dbeta / b, None


class LayerNormFunctionSavesXHat(torch.autograd.Function):
    """Correct: saves x̂ and σ̂ (not 1/σ̂) and writes the backward as three named terms."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        mu = input.mean(1, keepdim=True)
        std = torch.sqrt(((input - mu) ** 2).mean(1, keepdim=True) + eps)
        x_hat = (input - mu) / std
        ctx.save_for_backward(x_hat, gamma, std)
        return x_hat * gamma + beta

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, std = ctx.saved_tensors
        m = dout.shape[1]
        g = dout * gamma
        term1 = m * g
        term2 = g.sum(1, keepdim=True)
        term3 = x_hat * (g * x_hat).sum(1, keepdim=True)
        dx = (term1 - term2 - term3) / (m * std)
        return dx, (dout * x_hat).sum(0), dout.sum(0), None


class BatchNormFunctionAllGrads(torch.autograd.Function):
    """Correct: ignores ``needs_input_grad`` and always returns every gradient (autograd drops the unneeded)."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        return BatchNormFunctionGradsSwapped.forward(ctx, input, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        dx, dbeta, dgamma, _ = BatchNormFunctionGradsSwapped.backward(ctx, dout)
        return dx, dgamma, dbeta, None


class BatchNormFunctionTextbook(torch.autograd.Function):
    """Correct: the staged backward of the computational graph (x − μ, σ², √, 1/√, x̂), as in the course notes; in
    float32 on near-constant features its rounding is close to float32's limit."""

    @staticmethod
    def forward(ctx, input, gamma, beta, eps=1e-5):
        xmu = input - input.mean(0)
        var = (xmu**2).mean(0)
        sqrtvar = torch.sqrt(var + eps)
        ivar = 1 / sqrtvar
        x_hat = xmu * ivar
        ctx.save_for_backward(x_hat, gamma, xmu, ivar, sqrtvar)
        return gamma * x_hat + beta

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, xmu, ivar, sqrtvar = ctx.saved_tensors
        n = dout.shape[0]
        dbeta, dgamma = dout.sum(0), (dout * x_hat).sum(0)
        dx_hat = dout * gamma
        divar = (dx_hat * xmu).sum(0)
        dxmu1 = dx_hat * ivar
        dvar = 0.5 / sqrtvar * (-1 / sqrtvar**2 * divar)
        dxmu2 = 2 * xmu * dvar / n
        dx1 = dxmu1 + dxmu2
        dx = dx1 - dx1.sum(0) / n
        return dx, dgamma, dbeta, None


# --- nn.Modules ------------------------------------------------------------------------------------------


class BatchNormModulePlainGamma(torch.nn.Module):
    """γ and β kept as plain tensors: never registered, never trained."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = torch.ones(n_neurons)
        self.beta = torch.zeros(n_neurons)

    def forward(self, input):
        return CustomBatchNormManualFunction.apply(
            input, self.gamma.to(input.dtype), self.beta.to(input.dtype), self.eps
        )


class BatchNormModuleZeroGamma(AffineNorm):
    """γ initialised to zeros: the layer outputs β until γ has been trained (and blocks the gradient)."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__(n_neurons, eps)
        self.gamma = torch.nn.Parameter(torch.zeros(n_neurons))

    def forward(self, input):
        return CustomBatchNormManualFunction.apply(input, self.gamma, self.beta, self.eps)


class LayerNormModuleFloat32(AffineNorm):
    """Computes in float32 whatever the input dtype ("GPUs like float32"), casting the result back."""

    def forward(self, input):
        x = input.float()
        mu = x.mean(1, keepdim=True)
        x_hat = (x - mu) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + self.eps)
        return (self.gamma.float() * x_hat + self.beta.float()).to(input.dtype)


class LayerNormModuleReturnsDouble(AffineNorm):
    """Computes in float64 and forgets to cast back: float32 in, float64 out."""

    def forward(self, input):
        x = input.double()
        mu = x.mean(1, keepdim=True)
        x_hat = (x - mu) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + self.eps)
        return self.gamma.double() * x_hat + self.beta.double()


class LayerNormModuleNamedWeightBias(torch.nn.Module):
    """Correct: γ and β registered as ``weight`` and ``bias`` (as ``nn.LayerNorm`` names them)."""

    def __init__(self, n_neurons, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(n_neurons))
        self.bias = torch.nn.Parameter(torch.zeros(n_neurons))

    def forward(self, input):
        return CustomLayerNormManualFunction.apply(input, self.weight, self.bias, self.eps)


class LayerNormModuleFloat64Inside(AffineNorm):
    """Correct: computes in float64 and casts the output back to the input's dtype."""

    def forward(self, input):
        x = input.double()
        mu = x.mean(1, keepdim=True)
        x_hat = (x - mu) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + self.eps)
        return (self.gamma.double() * x_hat + self.beta.double()).to(input.dtype)


VARIANTS = [
    wrong("batchnorm", BatchNormUnbiasedVariance, "forward", "invariants", why="unbiased variance (ddof=1)"),
    wrong("batchnorm", BatchNormEpsIgnored, "forward", why="eps hard-coded to 1e-5"),
    wrong("batchnorm", BatchNormEpsOutsideSqrt, "forward", why="ε outside the square root"),
    wrong(
        "batchnorm",
        BatchNormExponentTwoThirds,
        "input_gradient",
        "autograd_agreement",
        why="(σ² + ε)^(−2/3) instead of ^(−3/2)",
    ),
    wrong(
        "batchnorm",
        BatchNormMissingMeanTerm,
        "input_gradient",
        "batch_semantics",
        why="the −Σ dout/B term (through μ) forgotten",
    ),
    wrong("batchnorm", BatchNormDgammaNotSummed, "interface", why="dγ not summed over the batch"),
    wrong("batchnorm", BatchNormDbetaMean, "param_gradients", why="dβ averaged"),
    wrong("batchnorm", BatchNormCenteresInPlace, "purity", why="x -= μ on the caller's array"),
    correct("batchnorm", BatchNormLongBackward, "the long backward via dσ² and dμ"),
    correct("batchnorm", BatchNormGraphBackward, "staged backprop through the graph"),
    wrong(
        "batchnorm_function",
        BatchNormFunctionGradsSwapped,
        "param_gradients",
        "autograd_agreement",
        why="(dx, dβ, dγ): γ's and β's gradients swapped",
    ),
    wrong(
        "batchnorm_function",
        BatchNormFunctionNeedsInputGrad,
        "interface",
        why="zeros(1) placeholders when x needs no gradient",
    ),
    wrong("batchnorm_function", BatchNormFunctionFloat16, "forward", why="statistics in float16"),
    wrong(
        "batchnorm_function",
        BatchNormFunctionSavedThenModified,
        "input_gradient",
        "param_gradients",
        why="x̂ saved on ctx, then modified in place into the output",
    ),
    correct("batchnorm_function", BatchNormFunctionAllGrads, "every gradient returned regardless of need"),
    correct("batchnorm_function", BatchNormFunctionTextbook, "the staged graph backward of the course notes"),
    wrong(
        "layernorm_function",
        LayerNormFunctionWrongAxis,
        "forward",
        why="statistics over dim 0: batch statistics, which raise at B = 1",
        crash=True,
    ),
    wrong("layernorm_function", LayerNormFunctionClassState, "state", why="x̂ kept on the class, not ctx"),
    wrong(
        "layernorm_function",
        LayerNormFunctionGammaOverB,
        "param_gradients",
        "batch_semantics",
        why="dγ, dβ divided by B",
    ),
    correct("layernorm_function", LayerNormFunctionSavesXHat, "saves σ̂ and x̂; three-term backward"),
    wrong("batchnorm_module", BatchNormModulePlainGamma, "module_contract", why="γ, β plain tensors"),
    wrong("batchnorm_module", BatchNormModuleZeroGamma, "module_contract", why="γ initialised to 0"),
    wrong(
        "layernorm_module",
        LayerNormModuleFloat32,
        "forward",
        "autograd_agreement",
        why="float32 arithmetic in a float64 run",
    ),
    wrong("layernorm_module", LayerNormModuleReturnsDouble, "interface", why="float64 output for float32 input"),
    correct("layernorm_module", LayerNormModuleNamedWeightBias, "γ, β registered as weight and bias"),
    correct("layernorm_module", LayerNormModuleFloat64Inside, "float64 inside, cast back"),
]
