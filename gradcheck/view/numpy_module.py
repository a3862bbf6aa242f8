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


#: How deep sub-modules are searched: attributes, lists, tuples and dicts nested within each other.
MAX_DEPTH = 8


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for every attribute of ``obj``, looking inside lists, tuples and dicts at any depth."""
    attrs = vars(obj) if hasattr(obj, "__dict__") else {}
    for name, value in attrs.items():
        if name not in ("params", "grads"):
            yield from _flatten(name, value, 0)


def _flatten(path: str, value: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if depth < MAX_DEPTH and isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _flatten(f"{path}.{i}", v, depth + 1)
    elif depth < MAX_DEPTH and isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{path}.{k}", v, depth + 1)
    else:
        yield path, value


def find_param_owners(
    module: Any, prefix: str = "", depth: int = 0, seen: set[int] | None = None
) -> list[tuple[str, Any]]:
    """``(prefix, owner)`` for ``module`` and every sub-module with ``params``, wherever it is kept: attributes,
    lists, tuples and dicts nested at any depth (an MLP holding ``[(Linear, ReLU), ...]``). Each module once."""
    seen = set() if seen is None else seen
    if id(module) in seen:
        return []
    seen.add(id(module))
    owners = []
    params = getattr(module, "params", None)
    if isinstance(params, dict) and params:
        owners.append((prefix, module))
    if depth < MAX_DEPTH:
        for name, child in _children(module):
            if not isinstance(child, type) and is_numpy_module(child):
                owners.extend(find_param_owners(child, f"{prefix}{name}.", depth + 1, seen))
    return owners


def _param_table(module: Any) -> dict[str, tuple[Any, str]]:
    return {f"{p}{k}": (owner, k) for p, owner in find_param_owners(module) for k in owner.params}


def _write(owner: Any, key: str, value: np.ndarray) -> None:
    current = owner.params[key]
    if isinstance(current, np.ndarray) and current.shape == value.shape and current.dtype == value.dtype:
        current[...] = value  # in place, so aliases the layer keeps (self.W) see it too
        return
    # Another dtype or shape: a new array, and every attribute that aliased the old one (self.W is
    # params["weight"]) is pointed at it, so the layer keeps reading what the harness wrote.
    new = value.copy()
    owner.params[key] = new
    for attr, held in list(vars(owner).items()):
        if held is current:
            setattr(owner, attr, new)


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
        out = call_layer(name, "forward", module.forward, *args, context=lambda: describe({"x": values["x"]}))
        return as_output(name, "forward", out)

    def vjp(values: Values, cot: np.ndarray) -> Grads:
        out = forward(values)
        dout = np.array(cot, dtype=out.dtype).reshape(out.shape)  # a copy: the caller's cotangent is reused
        return _collect(call_backward(dout, values["x"].copy()), cot)

    def restore() -> None:
        set_params(original)

    def split(values: Values) -> tuple[np.ndarray, Any]:
        # Forward now, backward when asked (another instance may run in between): the interleaved-state probe.
        out = forward(values)
        x = values["x"].copy()

        def backward(cot: np.ndarray) -> Grads:
            dout = np.asarray(cot, dtype=out.dtype).reshape(out.shape)
            return _collect(call_backward(dout.copy(), x), cot)

        return out.copy(), backward

    def probe_rebind(values: Values, cot: np.ndarray) -> tuple[np.ndarray, Grads]:
        # What a training loop does, params[k] = params[k] - lr * grads[k]: a new array under the same key, and
        # no attribute repointed, so a layer that captured self.W = params["weight"] keeps reading the old one.
        for k, (owner, key) in table.items():
            owner.params[key] = np.array(values[k], copy=True)
        args = (values["x"].copy(),) + ((target.copy(),) if target is not None else ())
        out = as_output(name, "forward", call_layer(name, "forward", module.forward, *args))
        dout = np.asarray(cot, dtype=out.dtype).reshape(out.shape)
        return out.copy(), _collect(call_backward(dout.copy(), values["x"].copy()), cot)

    def call_backward(dout: np.ndarray, x: np.ndarray) -> object:
        if target is not None:
            return call_layer(name, "backward", module.backward, x, target.copy())
        return call_layer(name, "backward", module.backward, dout, context=lambda: describe({"dout": dout}))

    def probe_purity(values: Values, cot: np.ndarray) -> list[str]:
        # Snapshots before forward; each step is compared with the state before it, so that a change is
        # attributed to the step that made it (forward, then backward).
        set_params(values)
        x = values["x"].copy()
        y = target.copy() if target is not None else None
        held = {"x": x, "y": y, **{f"parameter {k!r}": owner.params[key] for k, (owner, key) in table.items()}}
        before = _snapshot(held)
        out = call_layer(name, "forward", module.forward, *((x, y) if y is not None else (x,)))
        out = as_output(name, "forward", out)
        found = _changed(held, before, "forward")
        if np.shares_memory(out, x):
            found.append("forward returned (a view of) its input x instead of a new array")
        dout = np.array(cot, dtype=out.dtype).reshape(out.shape)
        dout_keep = dout.copy()
        before = _snapshot(held)
        dx = call_backward(dout, x)
        found += _changed(held, before, "backward")
        if target is None and not np.array_equal(dout, dout_keep):
            found.append("backward modified the upstream gradient dout in place")
        if isinstance(dx, np.ndarray) and target is None and np.shares_memory(dx, dout):
            found.append("backward returned (a view of) the upstream gradient dout instead of a new array")
        for owner, key in table.values():
            g = getattr(owner, "grads", {}).get(key)
            if isinstance(g, np.ndarray) and np.shares_memory(g, owner.params[key]):
                found.append(f"grads[{key!r}] is the parameter array itself")
        return found

    def probe_interleaved(first: Values, second: Values, cot: np.ndarray) -> tuple[Grads, Grads]:
        forward(first)
        out = forward({**first, "x": second["x"]})
        dout = np.asarray(cot, dtype=out.dtype).reshape(out.shape)
        grads_once = _collect(call_backward(dout.copy(), second["x"].copy()), cot)
        grads_twice = _collect(call_backward(dout.copy(), second["x"].copy()), cot)
        return grads_once, grads_twice

    def _collect(dx: object, cot: np.ndarray) -> Grads:
        """The input gradient (scaled by the cotangent for a loss) and copies of every parameter gradient."""
        if dx is not None:
            dx = as_output(name, "backward", dx)
            dx = _scaled(dx, cot) if target is not None else dx.copy()
        grads: Grads = {"x": dx}
        for k, (owner, key) in table.items():
            g = getattr(owner, "grads", {}).get(key) if isinstance(getattr(owner, "grads", None), dict) else None
            if g is None:
                raise LayerError(f"{name}: grads has no entry {key!r} after backward (params has {key!r})")
            grads[k] = np.array(g, copy=True)
        return grads

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
        probe_purity=probe_purity,
        probe_interleaved=probe_interleaved,
        split=split,
        probe_rebind=probe_rebind,
    )


def _scaled(dx: np.ndarray, cot: np.ndarray) -> np.ndarray:
    # A loss's backward gives dL/dx; the VJP for a scalar cotangent c is c·dL/dx, in the gradient's dtype.
    return dx * np.asarray(cot, dtype=dx.dtype)


def _snapshot(held: dict[str, Any]) -> dict[str, np.ndarray | None]:
    return {k: None if v is None else np.array(v, copy=True) for k, v in held.items()}


def _changed(held: dict[str, Any], before: dict[str, np.ndarray | None], when: str) -> list[str]:
    # ``x``/``y`` are the arrays the layer was given; parameters are the layer's own arrays (in place or rebound).
    return [
        f"{when} modified {'its input ' + k if k in ('x', 'y') else k} in place"
        for k, v in held.items()
        if v is not None and not np.array_equal(v, np.asarray(before[k]))
    ]
