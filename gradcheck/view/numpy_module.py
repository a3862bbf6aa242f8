"""Adapter for NumPy modules: ``forward(x)``/``backward(dout)`` with ``params``/``grads`` dicts, and losses
``forward(x, y)``/``backward(x, y)``. Parameters of sub-modules (an MLP's layers) are found wherever they are kept.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np

from gradcheck.errors import LayerError
from gradcheck.view.base import Grads, OpView, Values, as_output, call_layer, describe

__all__ = ["find_param_owners", "is_numpy_module", "numpy_module_view"]


def is_numpy_module(obj: Any) -> bool:
    """True for objects with callable ``forward`` and ``backward`` that are not torch modules."""
    return callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))


def is_loss(module: Any) -> bool:
    """A loss module's ``backward`` takes ``(x, y)``; a layer's takes ``(dout)``."""
    try:
        params = inspect.signature(module.backward).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    attrs = vars(obj) if hasattr(obj, "__dict__") else {}
    for name, value in attrs.items():
        if isinstance(value, list | tuple):
            yield from ((f"{name}.{i}", v) for i, v in enumerate(value))
        elif isinstance(value, dict) and name not in ("params", "grads"):
            yield from ((f"{name}.{k}", v) for k, v in value.items())
        else:
            yield name, value


def find_param_owners(module: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """``(prefix, owner)`` for ``module`` and every sub-module (in attributes, lists or dicts) with ``params``."""
    owners = []
    params = getattr(module, "params", None)
    if isinstance(params, dict) and params:
        owners.append((prefix, module))
    if depth < 4:
        for name, child in _children(module):
            if child is not module and is_numpy_module(child):
                owners.extend(find_param_owners(child, f"{prefix}{name}.", depth + 1))
    return owners


def _param_table(module: Any) -> dict[str, tuple[Any, str]]:
    return {f"{p}{k}": (owner, k) for p, owner in find_param_owners(module) for k in owner.params}


def _write(owner: Any, key: str, value: np.ndarray) -> None:
    current = owner.params[key]
    if isinstance(current, np.ndarray) and current.shape == value.shape and current.dtype == value.dtype:
        current[...] = value  # in place, so aliases the layer keeps (self.W) see it too
    else:
        owner.params[key] = value.copy()


def numpy_module_view(module: Any, inputs: tuple[Any, ...], name: str | None = None) -> OpView:
    """View of a NumPy module at ``inputs`` (``(x,)`` for a layer, ``(x, y)`` for a loss)."""
    name = name or type(module).__name__
    loss = is_loss(module)
    n_in = 2 if loss else 1
    if len(inputs) != n_in:
        expected = "(x, y)" if loss else "(x,)"
        raise LayerError(f"{name}: expected inputs {expected}, got {len(inputs)} input(s)")
    x = np.asarray(inputs[0])
    target = np.asarray(inputs[1]).copy() if loss else None
    table = _param_table(module)
    original = {k: np.array(owner.params[key], copy=True) for k, (owner, key) in table.items()}
    point = {"x": x.copy(), **{k: v.copy() for k, v in original.items()}}

    def set_params(values: Values) -> None:
        for k, (owner, key) in table.items():
            _write(owner, key, np.asarray(values[k]))

    def forward(values: Values) -> np.ndarray:
        set_params(values)
        args = (values["x"].copy(),) + ((target.copy(),) if target is not None else ())
        out = call_layer(name, "forward", module.forward, *args, context=describe({"x": values["x"]}))
        return as_output(name, "forward", out)

    def vjp(values: Values, cot: np.ndarray) -> Grads:
        out = forward(values)
        if target is not None:
            dx = call_layer(name, "backward", module.backward, values["x"].copy(), target.copy())
            dx = None if dx is None else as_output(name, "backward", dx) * cot
        else:
            dout = np.asarray(cot, dtype=out.dtype).reshape(out.shape)
            dx = call_layer(name, "backward", module.backward, dout, context=describe({"dout": dout}))
            dx = None if dx is None else as_output(name, "backward", dx)
        grads: Grads = {"x": dx}
        for k, (owner, key) in table.items():
            g = getattr(owner, "grads", {}).get(key) if isinstance(getattr(owner, "grads", None), dict) else None
            if g is None:
                raise LayerError(f"{name}: grads has no entry {key!r} after backward (params has {key!r})")
            grads[k] = np.array(g, dtype=np.asarray(g).dtype, copy=True)
        return grads

    def restore() -> None:
        set_params(original)

    notes = ["NumPy loss module: forward(x, y) / backward(x, y)" if loss else "NumPy module: forward / backward"]
    return OpView(
        name=name,
        protocol="numpy",
        input_names=("x",),
        param_names=tuple(table),
        point=point,
        forward=forward,
        vjp=vjp,
        restore=restore,
        notes=notes,
    )
