"""Measured rounding noise of a computation: how much its result moves under rounding-level perturbations.

Some correct computations are far less accurate than ``ε`` times their result: batch norm's backward at a batch
of 2 subtracts terms that agree to 1e-5 (a float32 gradient is then off by 1 %), a saturated softmax rounds
``1 − s`` away. No a-priori bound on the result sees that. Re-running the computation at inputs moved by ``ε·|v|``
(random signs) changes its intermediate roundings (a variance moves by a few ulps, so ``var + eps`` rounds
elsewhere) and shows the noise directly. In a low precision the same spread would also hide a genuine
low-precision bug (a float16 intermediate); so the low-precision spread is accepted only as far as the same
computation in float64 shows the same amplification: ``min(spread_lo, 256·spread_64·ε_lo/ε_64)``.

A few draws sample the noise of each element unevenly (one element of a cancelling pair may keep its rounding
under every move while its twin shows it), so callers take the largest spread over an array as the noise level
of all its elements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

__all__ = ["perturbation_spread", "rounding_noise"]

Values = Mapping[str, np.ndarray]
#: How much more a low-precision run may amplify rounding than its float64 run shows (a coarser grid makes near-equal
#: inputs cancel worse, sums accumulate in another order); a float16 intermediate (ε 8000× float32's) exceeds it.
AMPLIFICATION_SLACK = 256.0


def perturbation_spread(
    fn: Callable[[dict], np.ndarray], values: Values, eps: float, seed: int, n: int = 3
) -> np.ndarray:
    """Largest elementwise change of ``fn`` when every value moves by ``ε·|v|`` with random signs (``n`` draws).

    Values keep their dtypes: a float32 value moves by about one ulp.
    """
    rng = np.random.default_rng(seed)
    base = np.asarray(fn(dict(values)), dtype=np.float64)
    spread = np.zeros_like(base)
    for _ in range(n):
        moved = {
            k: (v.astype(np.float64) * (1 + eps * (1 - 2 * rng.integers(0, 2, v.shape)))).astype(v.dtype)
            for k, v in values.items()
        }
        spread = np.maximum(spread, np.abs(np.asarray(fn(moved), dtype=np.float64) - base))
    return spread


def rounding_noise(fn: Callable[[dict], np.ndarray], values: Values, dtype: npt.DTypeLike, seed: int) -> np.ndarray:
    """Rounding noise of ``fn`` evaluated in ``dtype`` (the dtype of ``values``), confirmed in float64."""
    eps_lo = float(np.finfo(dtype).eps)
    lo = perturbation_spread(fn, values, eps_lo, seed)
    if np.dtype(dtype) == np.float64:
        return lo
    eps_hi = float(np.finfo(np.float64).eps)
    hi = perturbation_spread(fn, {k: v.astype(np.float64) for k, v in values.items()}, eps_hi, seed)
    return np.minimum(lo, AMPLIFICATION_SLACK * hi * (eps_lo / eps_hi))
