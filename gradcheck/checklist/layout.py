"""Parameter layouts: map a kind's canonical parameters onto the ones a layer actually has.

Students keep a linear weight as (out, in) or (in, out), a bias as (out,), (1, out) or (out, 1), batch-norm
γ/β under other names or as (1, n). The layout is read from the layer's own parameters after construction:
names first (``weight``/``W``/``w``, ``gamma``/``scale``…), then order, each with a shape that is the canonical
one, its transpose, or the same vector with unit dimensions. When that leaves a choice (a square weight could
be either orientation), a forward probe against the kind's oracle decides. The harness then runs every property
in canonical terms and maps values and gradients through the layout.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from gradcheck.errors import LayerError
from gradcheck.view import OpView

__all__ = ["Layout", "detect_layout", "with_layout"]

ALIASES = {
    "weight": ("weight", "w", "weights", "kernel"),
    "bias": ("bias", "b", "biases"),
    "gamma": ("gamma", "γ", "weight", "scale", "g", "gain", "w"),
    "beta": ("beta", "β", "bias", "shift", "b", "offset"),
}


@dataclass(frozen=True)
class Placement:
    """Where a canonical parameter lives in the layer: its name there and whether it is stored transposed."""

    name: str
    shape: tuple[int, ...]
    canonical_shape: tuple[int, ...]
    transposed: bool = False

    def to_layer(self, canonical: np.ndarray) -> np.ndarray:
        """The canonical array as the layer stores it."""
        a = canonical.T if self.transposed else canonical
        return np.ascontiguousarray(a).reshape(self.shape)

    def to_canonical(self, stored: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """An array in the layer's layout (a gradient) in canonical layout."""
        if self.transposed:
            return np.asarray(stored).reshape(self.shape).T.reshape(shape)
        return np.asarray(stored).reshape(shape)

    def fact(self, canonical: str) -> str:
        """What is unusual about this placement, in terms that hold for every size: ``weight as W, transposed``,
        ``bias as b, shape (n, 1)``; empty when the parameter is stored under its own name and shape."""
        own, base = _last(self.name), _last(canonical)
        how = []
        if self.transposed:
            how.append("transposed")
        elif self.shape != self.canonical_shape:
            how.append("shape (" + ", ".join("1" if d == 1 else "n" for d in self.shape) + ")")
        if not how and own == base:
            return ""
        name = self.name.rsplit(".", 1)[-1]
        return f"{canonical.rsplit('.', 1)[-1]} as {name}" + (f", {', '.join(how)}" if how else "")

    def describe(self, canonical: str) -> str:
        """``weight as W, transposed`` / ``bias as b, with unit dimensions (rank 2)``."""
        how = []
        if self.transposed:
            how.append("transposed")
        elif self.shape != self.canonical_shape:
            how.append(f"with unit dimensions (rank {len(self.shape)})")
        return f"{canonical} as {self.name}" + (f", {', '.join(how)}" if how else "")


@dataclass(frozen=True)
class Layout:
    """Placement of each canonical parameter; ``identity`` when names and shapes are the canonical ones."""

    placements: Mapping[str, Placement]

    @property
    def identity(self) -> bool:
        """True when every parameter sits under its canonical name with its canonical shape."""
        return all(
            p.name == k and not p.transposed and p.shape == p.canonical_shape for k, p in self.placements.items()
        )

    def describe(self) -> list[str]:
        """One line per sub-layer whose parameters are not stored canonically, for the report.

        Only what the shapes prove is said, so that the lines of different cases never contradict each other: a
        sub-layer with a parameter whose orientation its shapes cannot show (a unit or square dimension) gets no
        line from this case; another case, with other sizes, says it.
        """
        groups: dict[tuple[str, str], list[tuple[str, Placement]]] = {}
        for k, p in self.placements.items():
            groups.setdefault(_owner(p.name), []).append((k, p))
        lines = []
        for (owner, _), members in groups.items():
            if not all(_determinate(p) for _, p in members):
                continue
            facts = [p.fact(k) for k, p in members if p.fact(k)]
            if facts:
                where = f" of {owner}" if owner else ""
                lines.append(f"parameter layout{where}: {'; '.join(facts)}")
        return lines


def _owner(name: str) -> tuple[str, str]:
    # The sub-layer holding a parameter: its path ("layers.0" for "layers.0.W"; "" for the layer itself) and the
    # number a flat dict puts in the name ("1" for W1 and b1).
    path, _, own = name.rpartition(".")
    return path, own[len(own.rstrip("0123456789")) :]


def _determinate(p: Placement) -> bool:
    # Whether the stored shape shows the orientation: no unit dimension, and not a square matrix.
    dims = p.canonical_shape
    return all(d != 1 for d in dims) and not (len(dims) == 2 and dims[0] == dims[1])


def _last(name: str) -> str:
    # The parameter's own name, case-folded, without leading underscores or a layer number: "_g" is "g", "Γ" is
    # "γ", "W1" is "w".
    own = name.rsplit(".", 1)[-1].casefold()
    return own.lstrip("_").rstrip("0123456789").rstrip("_") or own


def _fits(want: tuple[int, ...], have: tuple[int, ...]) -> list[bool]:
    """Orientations (transposed or not) in which an array of shape ``have`` can hold a ``want``."""
    options = []
    if [d for d in have if d != 1] == [d for d in want if d != 1] and int(np.prod(have)) == int(np.prod(want)):
        options.append(False)
    if len(want) == 2 and len(have) == 2 and have == want[::-1] and want[0] != 1 and want[1] != 1:
        options.append(True)
    return options


def _candidates(canonical: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> dict:
    """For each canonical name: the layer parameter it maps to and the orientations still possible."""
    free = dict(found)
    chosen: dict[str, tuple[str, list[bool]]] = {}
    # Exact names first, then aliases of the last name component, then order.
    passes: list[Callable[[str, str], bool]] = [
        lambda c, f: f == c,
        lambda c, f: _last(f) in ALIASES.get(_last(c), (_last(c),)),
        lambda c, f: True,
    ]
    for match in passes:
        for c, want in canonical.items():
            if c in chosen:
                continue
            for f, have in free.items():
                options = _fits(want, have)
                if match(c, f) and options:
                    chosen[c] = (f, options)
                    del free[f]
                    break
    return chosen


def detect_layout(
    canonical: Mapping[str, tuple[int, ...]],
    found: Mapping[str, tuple[int, ...]],
    probe: Callable[[Layout], float],
    layer: str,
) -> Layout:
    """Match ``canonical`` parameter shapes to the layer's ``found`` ones; ``probe(layout)`` scores a choice.

    Raises:
        LayerError: some canonical parameter has no counterpart (the message lists what was found).
    """
    chosen = _candidates(canonical, found)
    missing = [c for c in canonical if c not in chosen]
    if missing:
        want = ", ".join(f"{k} {v}" for k, v in canonical.items())
        have = ", ".join(f"{k} {v}" for k, v in found.items()) or "none"
        raise LayerError(
            f"{layer}: no parameter layout matches; expected {want} (or transposed/reshaped), found {have}"
        )
    names = list(chosen)
    layouts = [
        Layout(
            {
                c: Placement(chosen[c][0], found[chosen[c][0]], tuple(canonical[c]), t)
                for c, t in zip(names, combo, strict=True)
            }
        )
        for combo in itertools.product(*(chosen[c][1] for c in names))
    ]
    if len(layouts) == 1:
        return layouts[0]
    return min(layouts[:64], key=probe)


def with_layout(view: OpView, layout: Layout, canonical: Mapping[str, tuple[int, ...]]) -> OpView:
    """The view in canonical parameter names and shapes (values mapped in, gradients mapped back)."""
    if layout.identity and set(view.param_names) == set(canonical):
        return view
    placed = {p.name for p in layout.placements.values()}
    extra = [n for n in view.param_names if n not in placed]

    def to_layer(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: values[k] for k in view.input_names}
        out.update({p.name: p.to_layer(np.asarray(values[c])) for c, p in layout.placements.items()})
        out.update({n: view.point[n] for n in extra})
        return out

    def forward(values: Mapping[str, np.ndarray]) -> np.ndarray:
        return view.forward(to_layer(values))

    def vjp(values: Mapping[str, np.ndarray], cot: np.ndarray) -> dict[str, np.ndarray | None]:
        return _canonical_grads(view.vjp(to_layer(values), cot), view.input_names, layout, canonical)

    point = {k: view.point[k] for k in view.input_names}
    point.update({c: p.to_canonical(view.point[p.name], canonical[c]) for c, p in layout.placements.items()})
    notes = [*view.notes, *layout.describe()]
    if extra:
        notes.append(f"parameters not in the kind's contract, left as they are: {', '.join(extra)}")
    mapped = OpView(
        view.name,
        view.protocol,
        view.input_names,
        tuple(layout.placements),
        point,
        forward,
        vjp,
        view.device,
        view.restore,
        notes,
    )
    if view.probe_purity is not None:
        mapped.probe_purity = lambda values, cot: view.probe_purity(to_layer(values), cot)  # type: ignore[misc]
    if view.probe_interleaved is not None:
        inner = view.probe_interleaved

        def interleaved(first: Mapping, second: Mapping, cot: np.ndarray) -> tuple:
            raw = inner(to_layer(first), to_layer(second), cot)
            return tuple(_canonical_grads(g, view.input_names, layout, canonical) for g in raw)

        mapped.probe_interleaved = interleaved
    if view.split is not None:
        split = view.split

        def split_mapped(values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, Callable]:
            out, backward = split(to_layer(values))
            return out, lambda cot: _canonical_grads(backward(cot), view.input_names, layout, canonical)

        mapped.split = split_mapped
    if view.probe_rebind is not None:
        rebind = view.probe_rebind

        def rebind_mapped(values: Mapping[str, np.ndarray], cot: np.ndarray) -> tuple[np.ndarray, dict]:
            out, grads = rebind(to_layer(values), cot)
            return out, _canonical_grads(grads, view.input_names, layout, canonical)

        mapped.probe_rebind = rebind_mapped
    return mapped


def _canonical_grads(grads: Mapping, inputs: tuple[str, ...], layout: Layout, canonical: Mapping) -> dict:
    out = {k: grads.get(k) for k in inputs}
    for c, p in layout.placements.items():
        g = grads.get(p.name)
        out[c] = None if g is None else p.to_canonical(g, canonical[c])
    return out
