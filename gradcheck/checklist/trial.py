"""A subject (kind + implementation) and a trial (one materialised case): how a case becomes an op view."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from gradcheck.checklist.fit import constructor_call
from gradcheck.checklist.layout import Layout, detect_layout, with_layout
from gradcheck.kinds import Case, Kind
from gradcheck.view import OpView
from gradcheck.view.base import call_layer
from gradcheck.view.numpy_module import numpy_module_view
from gradcheck.view.torch_views import function_view, module_view

__all__ = ["Subject", "Trial"]


@dataclass(frozen=True)
class Subject:
    """An implementation of a kind: a class (NumPy or nn.Module) or a ``torch.autograd.Function`` subclass."""

    kind: Kind
    target: Any
    label: str
    device: str = "cpu"
    notes: list[str] = field(default_factory=list, compare=False, hash=False)

    def note(self, text: str) -> None:
        """Record how the implementation was read (once per distinct note)."""
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class Trial:
    """One case of one subject, with its arrays; :meth:`build` gives a fresh layer's view at the case."""

    subject: Subject
    case: Case
    _layout: Layout | None = None

    @cached_property
    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The case's inputs (case dtype) and canonical parameters (float64)."""
        return self.subject.kind.materialise(self.case)

    @property
    def kind(self) -> Kind:
        """The subject's kind."""
        return self.subject.kind

    def construct(self) -> Any:
        """A fresh instance of the subject built with the case's constructor arguments.

        Called as the contract calls it: positionally in the kind's order, by keyword where the constructor's
        names are the contract's (see :func:`~gradcheck.checklist.fit.constructor_call`).
        """
        target = self.subject.target
        label = getattr(target, "__name__", str(target))
        args, kwargs = constructor_call(self.kind, target, self.case.ctor)
        return call_layer(label, "__init__", lambda: target(*args, **kwargs), context=self.case.describe())

    def build(
        self, dtype: str | None = None, device: str | None = None, rows: slice | None = None
    ) -> tuple[OpView, dict[str, np.ndarray]]:
        """A fresh layer's view and the case's values in ``dtype`` (default: the case's), on the batch ``rows``."""
        dtype = dtype or self.case.dtype
        device = device or self.subject.device
        inputs, params = self.arrays
        inputs = {k: (v.astype(dtype) if v.dtype.kind == "f" else v)[rows or slice(None)] for k, v in inputs.items()}
        kind = self.kind
        if kind.protocol == "function":
            values = {**inputs, **{k: v.astype(dtype) for k, v in params.items()}}
            assert kind.call is not None
            args = kind.call(self.case.ctor, values)
            names = [next((k for k, v in values.items() if v is a), f"arg{i}") for i, a in enumerate(args)]
            view = function_view(self.subject.target, args, device, names=names)
            view.input_names = tuple(n for n in view.input_names if n in inputs)
            view.param_names = tuple(n for n in names if n in params)
            return view, {k: values[k] for k in view.names}
        layer = self.construct()
        if kind.protocol == "module":
            view = module_view(layer, (inputs["x"],), device, input_names=("x",))
        else:
            args = (inputs["x"], inputs["y"]) if kind.protocol == "numpy_loss" else (inputs["x"],)
            view = numpy_module_view(layer, args)
        return self._values(view, inputs, params, dtype)

    def _values(
        self, view: OpView, inputs: dict[str, np.ndarray], params: dict[str, np.ndarray], dtype: str
    ) -> tuple[OpView, dict[str, np.ndarray]]:
        canonical = {k: tuple(v.shape) for k, v in params.items()}
        if self._layout is None:
            found = {k: tuple(view.point[k].shape) for k in view.param_names}
            self._layout = detect_layout(canonical, found, lambda lay: self._probe(view, lay, canonical), view.name)
            for line in self._layout.describe():
                self.subject.note(line)
        mapped = with_layout(view, self._layout, canonical)
        values = {k: inputs[k] for k in mapped.input_names}
        values.update({k: params[k].astype(dtype) for k in mapped.param_names})
        return mapped, values

    def placed(self, canonical: str) -> str:
        """The layer's own name for a canonical parameter (after :meth:`build` has read the layout)."""
        if self._layout is None:
            self.build()
        assert self._layout is not None
        return self._layout.placements[canonical].name

    def _probe(self, view: OpView, layout: Layout, canonical: dict[str, tuple[int, ...]]) -> float:
        # How far the layer's forward is from the oracle's when its parameters are placed as ``layout`` says.
        inputs, params = self.arrays
        values = {k: np.asarray(inputs[k], dtype=np.float64) for k in view.input_names}
        values.update({k: v.astype(np.float64) for k, v in params.items()})
        try:
            out = with_layout(view, layout, canonical).forward(values)
            ref = self.reference_forward(values)
            return float(np.linalg.norm(out - ref) / (np.linalg.norm(ref) + 1e-300))
        except Exception:  # a layout the layer cannot even run with is the worst choice
            return float("inf")

    def reference(self, values: dict[str, np.ndarray], dtype: str = "float64") -> Any:
        """The oracle's output (a torch tensor in ``dtype``) at ``values``, and the tensors it was called with."""
        import torch

        tensors = {k: torch.from_numpy(np.asarray(v, dtype=dtype)).requires_grad_(True) for k, v in values.items()}
        inputs = {k: v for k, v in tensors.items() if k in self.arrays[0]}
        extra = {k: torch.from_numpy(np.asarray(v, dtype=dtype)) for k, v in self.arrays[0].items() if k not in tensors}
        params = {k: v for k, v in tensors.items() if k not in inputs}
        out = self.kind.reference(self.case.ctor, {**inputs, **extra}, params)
        return out, tensors

    def reference_forward(self, values: dict[str, np.ndarray], dtype: str = "float64") -> np.ndarray:
        """The oracle's output at ``values``, computed in ``dtype``, as a float64 array."""
        out, _ = self.reference(values, dtype)
        return out.detach().numpy().astype(np.float64)

    def reference_vjp(
        self, values: dict[str, np.ndarray], cot: np.ndarray, dtype: str = "float64"
    ) -> dict[str, np.ndarray]:
        """Autograd gradients of ``⟨cot, reference(values)⟩`` (computed in ``dtype``) for every name."""
        import torch

        out, tensors = self.reference(values, dtype)
        grads = torch.autograd.grad(
            out, list(tensors.values()), torch.from_numpy(np.asarray(cot, dtype)), allow_unused=True
        )
        return {
            k: (np.zeros(v.shape) if g is None else g.numpy().astype(np.float64))
            for (k, v), g in zip(tensors.items(), grads, strict=True)
        }

    def reference_noise(
        self, values: dict[str, np.ndarray], cot: np.ndarray | None = None, dtype: str | None = None
    ) -> Any:
        """Rounding noise of the oracle's computation in ``dtype`` (default: the case's), measured.

        ``|oracle in float32 − oracle in float64| · ε_dtype / ε_float32``: the conditioning of the computation
        itself (cancellation inside batch norm's backward at small batches, large logits into exp), which no
        a-priori ``ε·|result|`` bound sees. Forward noise when ``cot`` is None, else the noise of each VJP.
        """
        scale = float(np.finfo(dtype or self.case.dtype).eps / np.finfo(np.float32).eps)
        if cot is None:
            return np.abs(self.reference_forward(values, "float32") - self.reference_forward(values)) * scale
        low, high = self.reference_vjp(values, cot, "float32"), self.reference_vjp(values, cot)
        return {k: np.abs(low[k] - high[k]) * scale for k in values}
