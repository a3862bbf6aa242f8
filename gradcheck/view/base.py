"""The one functional view of a layer: named inputs and parameters in, output out, and a VJP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradcheck.errors import LayerError

__all__ = ["Grads", "OpView", "Values", "call_layer", "describe", "present"]

Values = Mapping[str, np.ndarray]
Grads = dict[str, "np.ndarray | None"]


@dataclass
class OpView:
    """A layer seen as ``values -> output`` and ``(values, cotangent) -> gradients``.

    ``values`` maps every name in :attr:`names` (inputs first, then parameters) to an array; the adapter writes
    parameters into the layer and calls it. ``vjp`` returns one gradient per name, ``None`` where the layer gives
    none (e.g. a ``backward`` that returns nothing). ``point`` is the base point in the layer's dtype.
    ``notes`` says how the adapter read the layer (protocol, parameter layout, skipped outputs).
    """

    name: str
    protocol: str
    input_names: tuple[str, ...]
    param_names: tuple[str, ...]
    point: dict[str, np.ndarray]
    forward: Callable[[Values], np.ndarray]
    vjp: Callable[[Values, np.ndarray], Grads]
    device: str = "cpu"
    restore: Callable[[], None] = lambda: None
    notes: list[str] = field(default_factory=list)
    # Side-effect probes (properties "purity" and "state"); adapters fill them in.
    probe_purity: Callable[[Values, np.ndarray], list[str]] | None = None
    probe_interleaved: Callable[[Values, Values, np.ndarray], tuple[Grads, Grads]] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Inputs then parameters."""
        return self.input_names + self.param_names


def present(grads: Grads) -> dict[str, np.ndarray]:
    """The gradients a layer did return (drops the names whose gradient is ``None``)."""
    return {k: v for k, v in grads.items() if v is not None}


def describe(values: Mapping[str, Any]) -> str:
    """``x: (2, 3) float64, weight: (4, 3) float32`` for error messages."""
    parts = []
    for k, v in values.items():
        shape = getattr(v, "shape", None)
        dtype = getattr(v, "dtype", type(v).__name__)
        parts.append(f"{k}: {tuple(shape) if shape is not None else '-'} {dtype}")
    return ", ".join(parts)


def call_layer(
    layer_name: str, what: str, fn: Callable[..., Any], *args: Any, context: str | Callable[[], str] = ""
) -> Any:
    """Call user code; re-raise anything it raises as :class:`LayerError` naming the layer, call and shapes.

    ``context`` (a string, or a function making it only when needed) says what the call was given.
    """
    try:
        return fn(*args)
    except LayerError:
        raise
    except Exception as exc:  # user code may raise anything; the harness reports it, never crashes
        text = context() if callable(context) else context
        where = f" (called with {text})" if text else ""
        raise LayerError(f"{layer_name}.{what} raised {type(exc).__name__}: {exc}{where}") from exc


def as_output(layer_name: str, what: str, out: Any) -> np.ndarray:
    """Check that a NumPy layer returned a floating array (or float scalar) and return it as an array."""
    if isinstance(out, np.ndarray | np.floating | float):
        arr = np.asarray(out)
        if arr.dtype.kind == "f":
            return arr
        raise LayerError(f"{layer_name}.{what} returned an array of dtype {arr.dtype}, expected a float array")
    raise LayerError(f"{layer_name}.{what} returned {type(out).__name__}, expected a NumPy float array")
