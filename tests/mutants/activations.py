"""Variants of the element-wise activations and the softmax (NumPy modules)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from layers.numpy import ELUModule, LeakyReLUModule, ReLUModule, SoftMaxModule

try:
    from mutants import correct, wrong
except ModuleNotFoundError:  # loaded as a file: gradcheck check KIND tests/mutants/<family>.py:Class
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mutants import correct, wrong

# --- ReLU ------------------------------------------------------------------------------------------------


class ReLUZeroesDoutInPlace(ReLUModule):
    """Backward masks the caller's ``dout`` in place and returns it."""

    def backward(self, dout):
        (x,) = self._saved()
        dout[x <= 0] = 0
        return dout


class ReLUStaleCache(ReLUModule):
    """The input is cached on the first forward only."""

    def forward(self, x):
        if self._cache is None:
            self._cache = (np.asarray(x),)
        return np.maximum(x, 0)


class ReLUUpcasts(ReLUModule):
    """Correct, with a warning: computes (and returns) float64 whatever the input dtype (no precision lost)."""

    def forward(self, x):
        self._cache = (np.asarray(x, dtype=np.float64),)
        return np.maximum(np.asarray(x, dtype=np.float64), 0)

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, np.asarray(dout, dtype=np.float64), 0.0)


class ReLUGradientOfOne(ReLUModule):
    """Backward passes ``dout`` unchanged (the mask forgotten)."""

    def backward(self, dout):
        self._saved()
        return np.array(dout, copy=True)


class ReLUReturnsNone(ReLUModule):
    """Backward computes nothing and returns None ("the gradient is stored elsewhere")."""

    def backward(self, dout):
        self._saved()
        return None


class ReLUSubgradientOneAtZero(ReLUModule):
    """Correct: slope 1 at exactly 0 (``x >= 0``) is a valid subgradient."""

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x >= 0, dout, 0)


class ReLUMaskFromOutput(ReLUModule):
    """Correct: caches the output and masks with ``out > 0``, the same set as ``x > 0``."""

    def forward(self, x):
        out = np.maximum(np.asarray(x), 0)
        self._cache = (out,)
        return out.copy()

    def backward(self, dout):
        (out,) = self._saved()
        return dout * (out > 0)


# --- LeakyReLU -------------------------------------------------------------------------------------------


class LeakyReLUFixedSlope(LeakyReLUModule):
    """The constructor argument is ignored: the slope is always 0.01."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        return np.where(x > 0, x, 0.01 * x)

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, dout, 0.01 * dout)


class LeakyReLUSlopeWrongSide(LeakyReLUModule):
    """Backward applies the slope on the positive side and 1 on the negative side."""

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, self.neg_slope * dout, dout)


class LeakyReLUMaximumTrick(LeakyReLUModule):
    """``max(x, a·x)``: right only for slopes ≤ 1 (for a > 1 it picks a·x on the positive side)."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        return np.maximum(x, self.neg_slope * x)

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x >= self.neg_slope * x, dout, self.neg_slope * dout)


class LeakyReLUSlopeFromRatio(LeakyReLUModule):
    """Correct: the mask read from the output's sign and the slope as a select, written branch-free."""

    def backward(self, dout):
        (x,) = self._saved()
        pos = (x > 0).astype(dout.dtype)
        return dout * (pos + (1 - pos) * dout.dtype.type(self.neg_slope))


class LeakyReLUWhereFloat(LeakyReLUModule):
    """Correct, with a warning: ``dout * np.where(x > 0, 1.0, a)`` — the Python floats make a float64 mask, so the
    gradient of a float32 input is float64 (NumPy promotion, no precision lost)."""

    def backward(self, dout):
        (x,) = self._saved()
        return dout * np.where(x > 0, 1.0, self.neg_slope)


class LeakyReLUEpsSlope(LeakyReLUModule):
    """Backward uses slope 1e-2 + a where a is due ("to avoid a zero gradient")."""

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, dout, (self.neg_slope + 1e-2) * dout).astype(dout.dtype)


# --- ELU -------------------------------------------------------------------------------------------------


class ELUAlphaDerivative(ELUModule):
    """Negative-branch derivative α instead of α·eˣ."""

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, dout, self.alpha * dout)


class ELUIgnoresAlpha(ELUModule):
    """The constructor argument is ignored (α = 1 everywhere)."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, dout, np.exp(np.minimum(x, 0)) * dout)


class ELUFloat32Exp(ELUModule):
    """Computes the exponential in float32 even in a float64 run (a hard-coded ``np.float32`` cast)."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        neg = self.alpha * np.expm1(np.minimum(x, 0).astype(np.float32)).astype(x.dtype)
        return np.where(x > 0, x, neg)

    def backward(self, dout):
        (x,) = self._saved()
        e = np.exp(np.minimum(x, 0).astype(np.float32)).astype(x.dtype)
        return np.where(x > 0, dout, self.alpha * e * dout)


class ELUExpMinusOne(ELUModule):
    """Correct: ``α(eˣ − 1)`` instead of ``expm1`` (off by ~ε·α·1 near 0, where ``eˣ ≈ 1`` is rounded)."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        return np.where(x > 0, x, self.alpha * (np.exp(np.minimum(x, 0)) - 1))

    def backward(self, dout):
        (x,) = self._saved()
        return np.where(x > 0, dout, self.alpha * np.exp(np.minimum(x, 0)) * dout)


class ELUDerivativeFromOutput(ELUModule):
    """Correct: on the negative branch α·eˣ = out + α, read from the cached output."""

    def forward(self, x):
        x = np.asarray(x)
        out = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        self._cache = (x, out)
        return out.copy()

    def backward(self, dout):
        x, out = self._saved()
        return np.where(x > 0, dout, (out + self.alpha) * dout)


class ELUFloat64Inside(ELUModule):
    """Correct: computes in float64 internally and casts results back to the input's dtype."""

    def forward(self, x):
        x = np.asarray(x)
        self._cache = (x,)
        x64 = x.astype(np.float64)
        return np.where(x64 > 0, x64, self.alpha * np.expm1(np.minimum(x64, 0))).astype(x.dtype)

    def backward(self, dout):
        (x,) = self._saved()
        x64, d64 = x.astype(np.float64), np.asarray(dout, dtype=np.float64)
        return np.where(x64 > 0, d64, self.alpha * np.exp(np.minimum(x64, 0)) * d64).astype(x.dtype)


# --- SoftMax ---------------------------------------------------------------------------------------------


class SoftMaxNoMaxSubtraction(SoftMaxModule):
    """``exp(x) / Σ exp(x)`` without subtracting the row maximum: overflows for large logits."""

    def forward(self, x):
        x = np.asarray(x)
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(x)
            s = e / e.sum(axis=1, keepdims=True)
        self._cache = (s,)
        return s.copy()


class SoftMaxDiagonalJacobian(SoftMaxModule):
    """Backward keeps only the diagonal of the Jacobian: ``dx = s(1 − s) ⊙ dout``."""

    def backward(self, dout):
        (s,) = self._saved()
        return s * (1 - s) * dout


class SoftMaxWrongAxis(SoftMaxModule):
    """Normalises over the batch axis 0."""

    def forward(self, x):
        x = np.asarray(x)
        e = np.exp(x - x.max(axis=0, keepdims=True))
        s = e / e.sum(axis=0, keepdims=True)
        self._cache = (s,)
        return s.copy()

    def backward(self, dout):
        (s,) = self._saved()
        return s * (dout - (dout * s).sum(axis=0, keepdims=True))


class SoftMaxFloat16Exp(SoftMaxModule):
    """Takes the exponential in float16 ("it is only probabilities")."""

    def forward(self, x):
        x = np.asarray(x)
        with np.errstate(over="ignore"):
            e = np.exp((x - x.max(axis=1, keepdims=True)).astype(np.float16)).astype(x.dtype)
        s = e / e.sum(axis=1, keepdims=True)
        self._cache = (s,)
        return s.copy()


class SoftMaxLogSumExp(SoftMaxModule):
    """Correct: ``s = exp(z − log Σ exp z)`` with ``z = x − max x`` (log-softmax first, then exp)."""

    def forward(self, x):
        z = np.asarray(x) - np.max(x, axis=1, keepdims=True)
        s = np.exp(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
        self._cache = (s,)
        return s.copy()


class SoftMaxLogSumExpUnshifted(SoftMaxModule):
    """Correct: ``s = exp(x − lse(x))`` with ``lse = m + log Σ exp(x − m)``: rows sum to 1 within ε·|max logit|
    (``x − lse`` rounds at the logits' scale), not ε·C."""

    def forward(self, x):
        x = np.asarray(x)
        m = np.max(x, axis=1, keepdims=True)
        lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
        s = np.exp(x - lse)
        self._cache = (s,)
        return s.copy()


class SoftMaxEyeJacobian(SoftMaxModule):
    """Correct, with a warning: the Jacobian built with ``np.eye(C)`` (float64), so a float32 input gets a float64
    gradient (NumPy promotion, no precision lost)."""

    def backward(self, dout):
        (s,) = self._saved()
        jac = s[:, :, None] * np.eye(s.shape[1]) - s[:, :, None] * s[:, None, :]
        return np.einsum("bij,bj->bi", jac, dout)


class SoftMaxFullJacobian(SoftMaxModule):
    """Correct: backward builds the per-sample Jacobian ``diag(s) − s sᵀ`` and multiplies it."""

    def backward(self, dout):
        (s,) = self._saved()
        jac = np.einsum("bi,ij->bij", s, np.eye(s.shape[1], dtype=s.dtype)) - np.einsum("bi,bj->bij", s, s)
        return np.einsum("bij,bj->bi", jac, np.asarray(dout, dtype=s.dtype))


VARIANTS = [
    wrong("relu", ReLUZeroesDoutInPlace, "purity", why="dout[x <= 0] = 0 changes the caller's upstream gradient"),
    wrong("relu", ReLUStaleCache, "state", why="x cached on the first forward only"),
    correct("relu", ReLUUpcasts, "float64 output for float32 input: NumPy promotion", warns=("interface",)),
    wrong("relu", ReLUGradientOfOne, "input_gradient", "autograd_agreement", why="the mask is forgotten"),
    wrong("relu", ReLUReturnsNone, "input_gradient", why="backward returns None: no gradient to check is no pass"),
    correct("relu", ReLUSubgradientOneAtZero, "slope 1 at x = 0 is a valid subgradient"),
    correct("relu", ReLUMaskFromOutput, "out > 0 is the same set as x > 0"),
    wrong("leaky_relu", LeakyReLUFixedSlope, "forward", why="neg_slope ignored, 0.01 hard-coded"),
    wrong(
        "leaky_relu",
        LeakyReLUSlopeWrongSide,
        "input_gradient",
        "autograd_agreement",
        why="the slope applied to x > 0 instead of x < 0",
    ),
    wrong("leaky_relu", LeakyReLUMaximumTrick, "forward", why="max(x, a·x) is LeakyReLU only for a ≤ 1"),
    correct("leaky_relu", LeakyReLUSlopeFromRatio, "branch-free select of the slope"),
    correct("leaky_relu", LeakyReLUWhereFloat, "dout * np.where(x > 0, 1.0, a): float64 mask", warns=("interface",)),
    wrong(
        "leaky_relu",
        LeakyReLUEpsSlope,
        "input_gradient",
        "autograd_agreement",
        why="slope a + 1e-2 in backward only",
    ),
    wrong(
        "elu",
        ELUAlphaDerivative,
        "input_gradient",
        "autograd_agreement",
        why="negative-branch derivative α instead of α·eˣ",
    ),
    wrong("elu", ELUIgnoresAlpha, "forward", why="alpha ignored (α = 1)"),
    wrong("elu", ELUFloat32Exp, "forward", "autograd_agreement", why="exp computed in float32 in a float64 run"),
    correct("elu", ELUDerivativeFromOutput, "α·eˣ = out + α on the negative branch"),
    correct("elu", ELUExpMinusOne, "α(eˣ − 1) instead of expm1"),
    correct("elu", ELUFloat64Inside, "float64 inside, cast back to the input dtype"),
    wrong("softmax", SoftMaxNoMaxSubtraction, "finite", "forward", why="no max-subtraction: exp overflows"),
    wrong(
        "softmax",
        SoftMaxDiagonalJacobian,
        "input_gradient",
        "autograd_agreement",
        why="off-diagonal Jacobian terms −s_i s_k dropped",
    ),
    wrong("softmax", SoftMaxWrongAxis, "forward", "batch_semantics", why="normalised over the batch axis"),
    wrong("softmax", SoftMaxFloat16Exp, "forward", "dtype_parity", why="exp in float16"),
    correct("softmax", SoftMaxLogSumExp, "exp(x − logsumexp x)"),
    correct("softmax", SoftMaxFullJacobian, "explicit Jacobian diag(s) − s sᵀ"),
    correct("softmax", SoftMaxLogSumExpUnshifted, "exp(x − lse(x)) with lse = m + log Σ exp(x − m)"),
    correct("softmax", SoftMaxEyeJacobian, "Jacobian from np.eye(C): float64 gradient", warns=("interface",)),
]
