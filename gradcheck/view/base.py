"""The one functional view of a layer: named inputs and parameters in, output out, and a VJP.

Also the one door through which the harness calls the user's code (:func:`call_layer`, :func:`user_code`): whatever
that code raises (``SystemExit`` included; only ``KeyboardInterrupt`` passes) comes out as a :class:`LayerError`
carrying a :class:`~gradcheck.results.LayerFault` located at the innermost frame of the user's own file.
"""

from __future__ import annotations

import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from gradcheck.errors import LayerError
from gradcheck.results import LayerFault

__all__ = [
    "Grads",
    "OpView",
    "Values",
    "as_output",
    "call_layer",
    "describe",
    "layer_error",
    "layer_fault",
    "present",
    "user_code",
    "user_frame",
]

Values = Mapping[str, np.ndarray]
Grads = dict[str, "np.ndarray | None"]


@dataclass
class OpView:
    """A layer seen as ``values -> output`` and ``(values, cotangent) -> gradients``.

    ``values`` maps every name in :attr:`names` (inputs first, then parameters) to an array; the adapter writes
    parameters into the layer and calls it. ``vjp`` returns one gradient per name, ``None`` where the layer gives
    none (e.g. a ``backward`` that returns nothing), each of the shape of its value: a gradient of another shape
    raises :class:`LayerError` (unit dimensions aside, which are reshaped away). ``point`` is the base point in the
    layer's dtype. ``notes`` says how the adapter read the layer (protocol, parameter layout, skipped outputs).
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
    # Forward now, backward later (``split(values) -> (output, backward(cot) -> grads)``): interleaved instances.
    split: Callable[[Values], tuple[np.ndarray, Callable[[np.ndarray], Grads]]] | None = None
    # Rebind the parameter entries (``params[k] = new``, as a training loop does), then forward and backward.
    probe_rebind: Callable[[Values, np.ndarray], tuple[np.ndarray, Grads]] | None = None

    def __setattr__(self, key: str, value: Any) -> None:
        # Every gradient an adapter hands out (vjp, and the state probes') gets the shape check here, however the
        # adapter set it: a dx of the wrong shape must be the layer's error ("backward returned a gradient for x
        # of shape (3,)"), not a crash deep inside whichever property first concatenates it.
        wrap = _SHAPE_CHECKS.get(key)
        if wrap is not None and value is not None and not getattr(value, "_shape_checked", False):
            value = wrap(self, value)
            value._shape_checked = True
        super().__setattr__(key, value)

    @property
    def names(self) -> tuple[str, ...]:
        """Inputs then parameters."""
        return self.input_names + self.param_names


def _shaped(view: OpView, grads: Grads, values: Values) -> Grads:
    return {k: _same_shape(view.name, k, g, values.get(k)) for k, g in grads.items()}


def _checked_vjp(view: OpView, vjp: Callable[[Values, np.ndarray], Grads]) -> Any:
    return lambda values, cot: _shaped(view, vjp(values, cot), values)


def _checked_interleaved(view: OpView, probe: Callable[[Values, Values, np.ndarray], tuple[Grads, Grads]]) -> Any:
    def checked(first: Values, second: Values, cot: np.ndarray) -> tuple[Grads, Grads]:
        once, twice = probe(first, second, cot)  # both are the gradients at ``second``
        return _shaped(view, once, second), _shaped(view, twice, second)

    return checked


def _checked_split(view: OpView, split: Callable[[Values], tuple[np.ndarray, Callable[[np.ndarray], Grads]]]) -> Any:
    def checked(values: Values) -> tuple[np.ndarray, Callable[[np.ndarray], Grads]]:
        out, backward = split(values)
        return out, lambda cot: _shaped(view, backward(cot), values)

    return checked


def _checked_rebind(view: OpView, probe: Callable[[Values, np.ndarray], tuple[np.ndarray, Grads]]) -> Any:
    def checked(values: Values, cot: np.ndarray) -> tuple[np.ndarray, Grads]:
        out, grads = probe(values, cot)
        return out, _shaped(view, grads, values)

    return checked


#: The OpView fields that hand out gradients, and how each is wrapped with the shape check.
_SHAPE_CHECKS: dict[str, Callable[[OpView, Any], Any]] = {
    "vjp": _checked_vjp,
    "probe_interleaved": _checked_interleaved,
    "split": _checked_split,
    "probe_rebind": _checked_rebind,
}


def _same_shape(layer: str, name: str, grad: Any, value: Any) -> Any:
    if grad is None or value is None or not isinstance(grad, np.ndarray):
        return grad
    want, got = tuple(np.shape(value)), tuple(grad.shape)
    if got == want:
        return grad
    if _drop_units(got) == _drop_units(want):  # (1, n) for (n,): the same numbers, stored with a unit axis
        return grad.reshape(want)
    hint = " (the transpose: a layout slip?)" if got == want[::-1] else ""
    message = f"returned a gradient for {name} of shape {got}; {name} has shape {want}{hint}"
    raise LayerError(f"{layer}.backward {message}", LayerFault(layer, "backward", "", message))


def _drop_units(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


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


# --- the user's code: calling it, and locating what it raised ---------------------------------------------------

#: Libraries whose frames are never the user's, besides the standard library and site-packages.
_LIBRARIES = ("numpy", "torch", "hypothesis", "_pytest", "pluggy", "scipy")


def _foreign_dirs() -> list[Path]:
    # Directories of code that is not the user's: the harness package itself (by its own location, never by a
    # folder name: a clone may well live in a folder called "gradcheck"), the libraries it calls through, the
    # standard library and the interpreter's site-packages. Computed per fault: faults are rare.
    dirs = [Path(__file__).resolve().parents[1]]  # the gradcheck package (not imported: no cycle through it)
    for name in _LIBRARIES:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file:
            dirs.append(Path(file).resolve().parent)
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if key in paths:
            dirs.append(Path(paths[key]).resolve())
    return dirs


def user_frame(tb: TracebackType | None) -> traceback.FrameSummary | None:
    """The innermost frame of ``tb`` in the user's code (not the harness, a library or the standard library)."""
    foreign = _foreign_dirs()
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename.startswith("<"):  # <frozen ...>, <string>: no file to point at
            continue
        path = Path(frame.filename).resolve()
        if not any(path.is_relative_to(d) for d in foreign):
            return frame
    return None


def _text(exc: BaseException) -> str:
    # The user's exception may have a __str__ that itself raises; the harness must not.
    if isinstance(exc, SystemExit):
        return f"exit({exc.code!r}) was called" if exc.code is not None else "exit() was called"
    try:
        return str(exc)
    except Exception:  # any failure of the user's __str__
        return f"<{type(exc).__name__} whose message cannot be printed>"


def _context(context: str | Callable[[], str]) -> str:
    try:
        return context() if callable(context) else context
    except Exception:  # describing odd arguments must never hide the real error
        return ""


def layer_fault(exc: BaseException, layer: str, call: str, context: str | Callable[[], str] = "") -> LayerFault:
    """The record of ``exc``, raised by ``layer``'s code during ``call``, located in the user's file.

    ``file``, ``line`` and ``source`` are those of the innermost traceback frame outside the harness, NumPy, torch,
    Hypothesis, the standard library and site-packages; ``None`` when the traceback has no such frame. Works for
    exceptions raised through torch's C++ autograd engine (a Function's ``backward``): their traceback keeps the
    user's frames.
    """
    frame = user_frame(exc.__traceback__)
    return LayerFault(
        layer=layer,
        call=call,
        exc_type=type(exc).__name__,
        message=_text(exc),
        file=frame.filename if frame else None,
        line=frame.lineno if frame else None,
        source=(frame.line or None) if frame else None,
        context=_context(context),
    )


def layer_error(exc: BaseException, layer: str, call: str, context: str | Callable[[], str] = "") -> LayerError:
    """A :class:`LayerError` for ``exc`` (raised by the user's code), with its :func:`layer_fault` as ``fault``.

    The message is one line: ``Layer.call raised Type: message (called with …) at file:line``.
    """
    fault = layer_fault(exc, layer, call, context)
    where = f" (called with {fault.context})" if fault.context else ""
    at = f" at {fault.file}:{fault.line}" if fault.file else ""
    said = f"{fault.exc_type}: {fault.message}" if fault.message else fault.exc_type  # a bare `assert` has none
    return LayerError(f"{layer}.{call} raised {said}{where}{at}", fault)


class _UserCode:
    def __init__(self, layer: str, call: str, context: str | Callable[[], str]) -> None:
        self.layer, self.call, self.context = layer, call, context

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, KeyboardInterrupt | LayerError):
            return  # Ctrl-C stops the run; a LayerError is already attributed
        raise layer_error(exc, self.layer, self.call, self.context) from exc


def user_code(layer: str, call: str, context: str | Callable[[], str] = "") -> _UserCode:
    """A ``with`` block around a call into the user's code (directly or through torch's autograd).

    Anything raised inside, ``SystemExit`` and other ``BaseException``s included, leaves as a :class:`LayerError`
    with a located :class:`~gradcheck.results.LayerFault`; ``KeyboardInterrupt`` passes through (it stops the run).

    Example::

        with user_code(fn.__name__, "backward", context=lambda: describe(values)):
            grads = torch.autograd.grad(out, inputs, cot)   # the Function's backward runs in here
    """
    return _UserCode(layer, call, context)


def call_layer(
    layer_name: str, what: str, fn: Callable[..., Any], *args: Any, context: str | Callable[[], str] = ""
) -> Any:
    """``fn(*args)``, the user's code: anything it raises leaves as :class:`LayerError` (see :func:`user_code`).

    ``context`` (a string, or a function making it only when needed) says what the call was given.
    """
    with user_code(layer_name, what, context):
        return fn(*args)


def as_output(layer_name: str, what: str, out: Any) -> np.ndarray:
    """Check that a NumPy layer returned a floating array (or float scalar) and return it as an array."""
    if isinstance(out, np.ndarray | np.floating | float):
        arr = np.asarray(out)
        if arr.dtype.kind == "f":
            return arr
        message = f"returned an array of dtype {arr.dtype}, expected a float array"
    else:
        message = f"returned {type(out).__name__}, expected a NumPy float array"
    raise LayerError(f"{layer_name}.{what} {message}", LayerFault(layer_name, what, "", message))
