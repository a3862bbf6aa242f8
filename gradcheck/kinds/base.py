"""What a kind is: one declaration that strategies, properties and docs all read.

A :class:`Kind` holds the contract (protocol, constructor arguments and their ranges, canonical parameter
shapes), the PyTorch oracle, the input domain (value regimes, where kinks and ties are), and the semantics
(per-sample, batch-coupled, or a loss that is a mean over the batch). A :class:`Case` is one drawn instance:
constructor arguments, shapes, a value regime, a scale, a dtype and a seed from which every array is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from gradcheck.results import Finding

__all__ = ["REGIMES", "Case", "Edge", "Kind", "make_values"]

Protocol = Literal["numpy", "numpy_loss", "function", "module"]
Semantics = Literal["per_sample", "batch_coupled", "loss_mean"]

#: Value regimes: how the entries of an input are drawn (``scale`` multiplies them).
REGIMES: dict[str, str] = {
    "normal": "standard normal entries times the scale",
    "ties": "small integers (exact ties and exact zeros: kinks of relu/max)",
    "near_constant": "per-feature offset with a spread 1e-3 of it (ill-conditioned statistics)",
    "large": "standard normal times 1e3 times the scale (large logits)",
    "positive": "absolute values of normal entries (one branch only)",
    "negative": "minus absolute values of normal entries (the other branch)",
    # Regimes of explicit edge cases only (see :class:`Edge`):
    "pm1000": "entries ±1000 plus normal noise (logits where exp overflows without the max shift)",
    "constant_rows": "each row a constant plus a spread 1e-3 of it (near-constant features of one sample)",
    "zeros": "probabilities exactly 0 at some non-label classes (cross-entropy's inputs)",
    "shared_max": "normal entries and one maximum inside two overlapping pooling windows (max pooling's inputs)",
}


def make_values(regime: str, rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Draw an array of ``shape`` in a value regime (float64)."""
    if regime == "normal":
        return rng.standard_normal(shape) * scale
    if regime == "ties":
        return rng.integers(-2, 3, size=shape).astype(np.float64) * scale
    if regime == "near_constant":
        offset = rng.uniform(1, 5, size=(1, *shape[1:])) * rng.choice([-1, 1], size=(1, *shape[1:]))
        return (offset + 1e-3 * np.abs(offset) * rng.standard_normal(shape)) * scale
    if regime == "large":
        return rng.standard_normal(shape) * 1e3 * scale
    if regime == "positive":
        return np.abs(rng.standard_normal(shape)) * scale + 1e-3 * scale
    if regime == "negative":
        return -np.abs(rng.standard_normal(shape)) * scale - 1e-3 * scale
    if regime == "pm1000":
        return (rng.choice([-1000.0, 1000.0], size=shape) + rng.standard_normal(shape)) * scale
    if regime == "constant_rows":
        offset = rng.uniform(1, 5, size=(shape[0], *([1] * (len(shape) - 1)))) * rng.choice([-1, 1])
        return (offset + 1e-3 * np.abs(offset) * rng.standard_normal(shape)) * scale
    raise ValueError(f"unknown regime {regime!r}; expected one of {sorted(REGIMES)}")


def no_params(ctor: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
    """The ``params`` of a kind without parameters."""
    return {}


@dataclass(frozen=True)
class Case:
    """One drawn case; every array is made deterministically from it (see :meth:`Kind.materialise`)."""

    kind: str
    ctor: Mapping[str, Any]
    shapes: Mapping[str, tuple[int, ...]]
    regime: str
    scale: float
    dtype: str
    seed: int
    label: str = ""  # what an explicit edge case covers ("B = 1", "overlapping windows"); empty when drawn
    #: Non-empty for an edge case on the closed boundary of the kind's domain (probabilities exactly 0 for
    #: ``log x``): what the boundary is. A layer exact on the open domain may break there; see the runner.
    boundary: str = ""

    @property
    def batch(self) -> int:
        """Size of the leading dimension of the first input."""
        return next(iter(self.shapes.values()))[0]

    def describe(self) -> str:
        """``ctor(in_features=3, out_features=2), x (1, 3), regime normal ×1, float32, seed 7``."""
        ctor = ", ".join(f"{k}={v!r}" for k, v in self.ctor.items())
        shapes = ", ".join(f"{k} {v}" for k, v in self.shapes.items())
        text = f"({ctor}), {shapes}, regime {self.regime} ×{self.scale:g}, {self.dtype}, seed {self.seed}"
        return f"{text}, edge case: {self.label}" if self.label else text


@dataclass(frozen=True)
class Edge:
    """An explicit case of a kind, run on every seed before the drawn ones: what it covers and how it is made.

    Edges are where realistic bugs hide and random drawing rarely goes (batch size 1, a batch larger than a
    chunk, overlapping pooling windows, exact zeros, ties, logits near ±1000, constructor arguments at the ends
    of their ranges). ``regime`` may name a regime the kind's ``make_inputs`` builds only for edges.
    """

    label: str
    ctor: Mapping[str, Any]
    shapes: Mapping[str, tuple[int, ...]]
    regime: str = "normal"
    scale: float = 1.0
    dtype: str = "float64"
    boundary: str = ""  # see Case.boundary


def no_edges() -> list[Edge]:
    """The edges of a kind that declares none (only the stratified regime and dtype cases are made)."""
    return []


@dataclass(frozen=True)
class Kind:
    """Declaration of a kind of layer (see the module docstring)."""

    name: str
    summary: str
    protocol: Protocol
    builtin: tuple[str, ...]
    ctor: Callable[[], st.SearchStrategy[dict[str, Any]]]
    shapes: Callable[[Mapping[str, Any]], st.SearchStrategy[dict[str, tuple[int, ...]]]]
    params: Callable[[Mapping[str, Any]], dict[str, tuple[int, ...]]]
    reference: Callable[..., Any]
    semantics: Semantics = "per_sample"
    regimes: tuple[str, ...] = ("normal",)
    kinks: str = "none: smooth everywhere"
    make_inputs: Callable[[Case, np.random.Generator], dict[str, np.ndarray]] | None = None
    param_values: Callable[[Mapping[str, Any], np.random.Generator], dict[str, np.ndarray]] | None = None
    invariants: tuple[Callable[..., list[Finding]], ...] = ()  # each returns the findings of one identity
    call: Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Any, ...]] | None = None
    double_backward: bool = False
    min_batch: int = 1
    init: Mapping[str, float] = field(default_factory=dict)
    differentiable_inputs: tuple[str, ...] = ("x",)
    positive: tuple[str, ...] = ()  # inputs whose domain is x > 0 (finite differences stay inside it)
    network: bool = False  # a whole network (trainability applies)
    edges: Callable[[], list[Edge]] = no_edges

    @property
    def has_params(self) -> bool:
        """Whether the kind declares parameters."""
        return self.params is not no_params

    def case_strategy(self, dtypes: tuple[str, ...] = ("float64", "float32")) -> st.SearchStrategy[Case]:
        """Cases: constructor arguments, then shapes that fit them, a regime, a scale, a dtype and a seed."""

        @st.composite
        def draw(d: Any) -> Case:
            ctor = d(self.ctor())
            shapes = d(self.shapes(ctor))
            regime = d(st.sampled_from(self.regimes))
            scale = d(st.sampled_from((1.0, 1e-3, 1e3)))
            dtype = d(st.sampled_from(dtypes))
            seed = d(st.integers(0, 2**16))
            return Case(self.name, ctor, shapes, regime, scale, dtype, seed)

        return draw()

    def explicit_cases(self, seed: int = 0) -> list[Case]:
        """The kind's edge cases, then one case per value regime and dtype not yet covered (stratified).

        Run before the drawn cases on every seed, so that every edge, every regime and both dtypes are exercised
        by every property in every run, whatever the profile's budget. Small on purpose (≈ 6–12 cases of a few
        elements each). ``seed`` varies the arrays, never what the cases cover.
        """
        edges = self.edges()
        if not edges:
            return []
        cases = [
            Case(self.name, e.ctor, e.shapes, e.regime, e.scale, e.dtype, _edge_seed(seed, i), e.label, e.boundary)
            for i, e in enumerate(edges)
        ]
        base = edges[0]

        def extra(regime: str, dtype: str, label: str) -> Case:
            return Case(self.name, base.ctor, base.shapes, regime, 1.0, dtype, _edge_seed(seed, len(cases)), label)

        for regime in self.regimes:
            if regime not in {c.regime for c in cases}:
                cases.append(extra(regime, "float32", f"regime {regime}"))
        for dtype in ("float64", "float32"):
            if dtype not in {c.dtype for c in cases}:
                cases.append(extra(base.regime, dtype, f"dtype {dtype}"))
        return cases

    def materialise(self, case: Case) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The case's inputs (in the case's dtype) and canonical parameters (float64, realistic scale)."""
        rng = np.random.default_rng(case.seed)
        if self.make_inputs is not None:
            inputs = self.make_inputs(case, rng)
        else:
            inputs = {k: make_values(case.regime, rng, s, case.scale) for k, s in case.shapes.items()}
        inputs = {k: v.astype(case.dtype) if v.dtype.kind == "f" else v for k, v in inputs.items()}
        if self.param_values is not None:
            params = self.param_values(case.ctor, rng)
        else:
            params = {k: realistic(rng, s) for k, s in self.params(case.ctor).items()}
        return inputs, params


def _edge_seed(seed: int, index: int) -> int:
    # Distinct from the drawn cases' seeds (0..2**16) so that an edge never repeats a drawn case's arrays.
    return 2**17 + 97 * seed + index


def realistic(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Parameters at a realistic scale: N(0, 1) for vectors, N(0, 1/fan_in) for weights; never ~1e-4."""
    if len(shape) <= 1:
        return rng.standard_normal(shape) + (0.5 if len(shape) == 1 else 0.0)
    fan_in = int(np.prod(shape[1:]))
    return rng.standard_normal(shape) / np.sqrt(fan_in)
