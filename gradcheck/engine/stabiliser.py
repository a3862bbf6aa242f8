"""Explain a deviation from a reference by a stabilising constant: ``log(p + c)`` where ``log(p)`` was due.

Students add a small epsilon to probabilities before a log or a division. Where it is added consistently (in the
forward and in the backward), the gradients are those of a slightly different, still well-posed function: the
layer matches the reference everywhere except at inputs within a few orders of magnitude of the epsilon. This
module finds such a constant from the data: the ``c`` for which the reference evaluated at ``x + c`` reproduces
the layer's output, searched on a logarithmic grid and refined, and bounded by
:data:`~gradcheck.engine.policy.STABILISER_MAX_RELATIVE` of the largest input (an epsilon that changes the
largest inputs by more than one float32 rounding unit is not a stabiliser: it changes the function).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.engine.policy import STABILISER_MAX_RELATIVE

__all__ = ["Stabiliser", "fit_stabiliser"]

#: Where the explanation says the deviation lives: inputs the epsilon changes by more than 1 %.
CONFINED_RATIO = 100.0


@dataclass(frozen=True)
class Stabiliser:
    """A constant ``c`` added to input ``name`` that explains a deviation (see the module docstring)."""

    name: str
    c: float

    @property
    def below(self) -> float:
        """The deviation is confined to ``name < below`` (where ``c`` changes the input by more than 1 %)."""
        return CONFINED_RATIO * self.c

    def shifted(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``values`` with ``c`` added to the input (in float64)."""
        return {**values, self.name: np.asarray(values[self.name], dtype=np.float64) + self.c}

    def explanation(self) -> str:
        """One line naming the stabiliser, for a warning."""
        return (
            f"matches the reference except where {self.name} < {self.below:.0e}: an epsilon of about {self.c:.0e} "
            f"added to {self.name}?"
        )


def _misfit(at: Callable[[float], np.ndarray], got: np.ndarray, tol: np.ndarray, c: float) -> float:
    diff = np.abs(at(c) - got)
    return float(np.max(np.where(np.isnan(diff), np.inf, diff) / tol, initial=0.0))


def _gauss_newton(at: Callable[[float], np.ndarray], got: np.ndarray, tol: np.ndarray, c: float) -> float:
    # The grid and golden section find c to a fraction of a percent; the deviation can be resolved far finer
    # (a loss of −log(1 + c) at p = 1 pins c to ε): weighted Gauss-Newton steps on the residual finish the fit.
    for _ in range(4):
        with np.errstate(all="ignore"):
            r = (at(c) - got) / tol
            j = (at(c * (1 + 1e-4)) - at(c)) / (c * 1e-4) / tol
            den = float(np.sum(j * j))
        if not np.isfinite(den) or den <= 0:
            break
        c_new = c - float(np.sum(j * r)) / den
        if not c_new > 0:
            break
        c = c_new
    return c


def fit_stabiliser(
    reference: Callable[[dict[str, np.ndarray]], Any],
    values: Mapping[str, np.ndarray],
    got: np.ndarray,
    tolerance: np.ndarray,
    positive: Iterable[str],
) -> Stabiliser | None:
    """The constant ``c`` added to one of the ``positive`` inputs under which ``reference`` reproduces ``got``.

    Args:
        reference: the reference as a function of the values.
        values: the point (the layer's inputs and parameters).
        got: the layer's result at ``values``.
        tolerance: the allowed difference per element (the comparison's).
        positive: the inputs of domain x > 0, where a stabilising epsilon is added.

    Returns:
        The best fit among the inputs if it brings every element within ``tolerance`` (misfit ≤ 1), else ``None``.
    """
    got = np.asarray(got, dtype=np.float64)
    tol = np.maximum(np.asarray(tolerance, dtype=np.float64), np.finfo(np.float64).tiny)
    best: tuple[float, Stabiliser] | None = None
    for name in positive:
        if name not in values:
            continue
        x = np.asarray(values[name], dtype=np.float64)
        cap = STABILISER_MAX_RELATIVE * float(np.max(np.abs(x), initial=0.0))
        if not cap > 1e-300:
            continue

        def at(c: float, n: str = name, x: np.ndarray = x) -> np.ndarray:
            with np.errstate(all="ignore"):
                return np.asarray(reference({**values, n: x + c}), dtype=np.float64)

        found = _search(lambda c: _misfit(at, got, tol, c), cap)
        if found is not None:
            c = _gauss_newton(at, got, tol, found[1])
            found = min(found, (_misfit(at, got, tol, c), c))
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], Stabiliser(name, found[1]))
    return best[1] if best is not None and best[0] <= 1.0 else None


def _search(misfit: Callable[[float], float], cap: float) -> tuple[float, float] | None:
    # Three points per decade from the cap down 16 decades, then a golden-section refinement in log c between the
    # neighbours of the best grid point.
    grid = cap * 10.0 ** -np.arange(0, 16.01, 1 / 3)
    scores = [misfit(float(c)) for c in grid]
    i = int(np.argmin(scores))
    if not np.isfinite(scores[i]):
        return None
    lo, hi = np.log(grid[min(i + 1, len(grid) - 1)]), np.log(grid[max(i - 1, 0)])
    g = (np.sqrt(5) - 1) / 2
    for _ in range(12):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if misfit(float(np.exp(a))) < misfit(float(np.exp(b))):
            hi = b
        else:
            lo = a
    c = float(np.exp((lo + hi) / 2))
    score = misfit(c)
    return (score, c) if score < scores[i] else (scores[i], float(grid[i]))
