"""Steps and tolerances: one dtype table and the formulas derived from it.

Central differences with step ``t`` have truncation error ``~ f'''·t²/6`` and rounding error ``~ η/t`` where
``η = κ·ε·|f|`` is the noise of one evaluation; the sum is smallest at ``t ~ ε^(1/3)``. The step of element ``i``
is ``t·s_i`` with ``s_i = max(|x_i|, rms(x))`` so that it follows the magnitude of each input (the ``rms`` floor
keeps zeros and tiny entries from getting a step of zero, and scales with the array, not with an absolute 1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["base_step", "element_scale", "machine_eps"]

# The safety factors of every comparison live in gradcheck.engine.policy, each with its reason.

_SUPPORTED = (np.float16, np.float32, np.float64)


def machine_eps(dtype: npt.DTypeLike) -> float:
    """Unit roundoff ε of a floating dtype (2.2e-16 for float64, 1.2e-7 for float32)."""
    dt = np.dtype(dtype)
    if dt.type not in _SUPPORTED:
        raise TypeError(f"expected a float16/32/64 dtype, got {dt}")
    return float(np.finfo(dt).eps)


def base_step(dtype: npt.DTypeLike) -> float:
    """Relative step ``ε^(1/3)``: balances the ``t²`` truncation and ``ε/t`` rounding of central differences."""
    return machine_eps(dtype) ** (1.0 / 3.0)


def element_scale(x: np.ndarray, positive: bool = False) -> np.ndarray:
    """Per-element scale ``max(|x_i|, rms(x))`` (1 where ``x`` is all zeros).

    For an input whose domain is ``x > 0`` (probabilities into a log) the scale is ``|x_i|`` itself, so that
    no step ``t·s_i`` with ``t < 1`` leaves the domain.
    """
    a = np.abs(np.asarray(x, dtype=np.float64))
    if positive:
        return a
    rms = float(np.sqrt(np.mean(a * a))) if a.size else 0.0
    return np.maximum(a, rms if rms > 0 else 1.0)
