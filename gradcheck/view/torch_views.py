"""Adapters for ``torch.autograd.Function`` subclasses (called through ``apply``) and ``torch.nn.Module``s.

Arrays cross the boundary as NumPy on the host; tensors are made on the chosen device in the array's dtype.
torch is imported lazily so that importing :mod:`gradcheck` stays light.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from gradcheck.errors import LayerError
from gradcheck.view.base import Grads, OpView, Values, call_layer, describe, user_code

__all__ = ["function_view", "is_autograd_function", "is_torch_module", "module_view"]


def _torch() -> Any:
    import torch

    return torch


def is_autograd_function(obj: Any) -> bool:
    """True for a ``torch.autograd.Function`` subclass (the class, not an instance)."""
    if not inspect.isclass(obj):
        return False
    try:
        return issubclass(obj, _torch().autograd.Function)
    except ImportError:
        return False


def is_torch_module(obj: Any) -> bool:
    """True for a ``torch.nn.Module`` instance."""
    import sys

    if "torch" not in sys.modules:
        return False
    return isinstance(obj, sys.modules["torch"].nn.Module)


def _is_array(v: Any) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype.kind == "f"
    torch = _torch()
    return isinstance(v, torch.Tensor) and v.is_floating_point()


def _to_numpy(v: Any, copy: bool = True) -> np.ndarray:
    # Results the layer just made need no copy (nothing else holds them); arrays the user passed in do.
    if isinstance(v, np.ndarray):
        return v.copy() if copy else v
    a = v.detach().cpu().numpy()
    return a.copy() if copy else a


def _tensor(a: np.ndarray, device: str, requires_grad: bool = False) -> Any:
    # Always a copy: nothing the layer receives may share memory with the harness's own arrays, so a layer that
    # writes into its input (x -= mean) changes only its own tensor, which the purity probe compares.
    t = _torch().from_numpy(np.array(a, order="C", copy=True)).to(device)
    return t.requires_grad_(requires_grad)


def _output(name: str, out: Any) -> Any:
    torch = _torch()
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        out = out[0]  # first output is the one checked
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise LayerError(f"{name} returned {type(out).__name__}, expected a floating-point torch.Tensor")
    return out


def _arg_names(fn: Any, n: int) -> list[str]:
    try:
        params = list(inspect.signature(fn.forward).parameters)[1:]  # drop ctx
    except (TypeError, ValueError):
        params = []
    if len(params) < n or any(p.startswith("*") for p in params[:n]):
        params = [f"arg{i}" for i in range(n)]
    return params[:n]


def _cotangent(cot: np.ndarray, out: Any, device: str) -> Any:
    # A fresh tensor per backward, in the output's dtype: a backward that writes into grad_output changes only it.
    return _tensor(np.asarray(cot, dtype=np.float64), device).to(out.dtype).reshape(out.shape)


def _grads(name: str, outputs: Any, wrt: list[Any], cot: np.ndarray, device: str, retain: bool = False) -> list[Any]:
    torch = _torch()
    c = _cotangent(cot, outputs, device)
    with user_code(name, "backward"):  # the user's backward runs inside torch's engine: located all the same
        return list(torch.autograd.grad(outputs, wrt, grad_outputs=c, allow_unused=True, retain_graph=retain))


def function_view(fn: Any, args: tuple[Any, ...], device: str = "cpu", names: list[str] | None = None) -> OpView:
    """View of ``fn.apply(*args)``: float arrays/tensors are differentiable inputs, the rest fixed extras.

    Inputs are named after ``fn.forward``'s parameters unless ``names`` (one per positional argument) is given.
    """
    name = fn.__name__
    names = list(names) if names is not None else _arg_names(fn, len(args))
    diff = [i for i, a in enumerate(args) if _is_array(a)]
    input_names = tuple(names[i] for i in diff)
    point = {names[i]: _to_numpy(args[i]) for i in diff}

    def make(values: Values, requires_grad: bool) -> dict[str, Any]:
        return {k: _tensor(values[k], device, requires_grad) for k in input_names}

    def run(tensors: dict[str, Any]) -> Any:
        full = [tensors[names[i]] if i in diff else args[i] for i in range(len(args))]
        out = call_layer(name, "apply", fn.apply, *full, context=lambda: describe(tensors))
        return _output(f"{name}.apply", out)

    def call(values: Values, requires_grad: bool) -> tuple[Any, list[Any]]:
        tensors = make(values, requires_grad)
        return run(tensors), list(tensors.values())

    def forward(values: Values) -> np.ndarray:
        with _torch().no_grad():
            out, _ = call(values, False)
        return _to_numpy(out, copy=False)

    def vjp(values: Values, cot: np.ndarray) -> Grads:
        out, wrt = call(values, True)
        grads = _grads(name, out, wrt, cot, device)
        return {k: None if g is None else _to_numpy(g, copy=False) for k, g in zip(input_names, grads, strict=True)}

    extras = [f"{names[i]}={args[i]!r}" for i in range(len(args)) if i not in diff]
    notes = [f"torch.autograd.Function via apply; fixed arguments: {', '.join(extras) or 'none'}"]
    view = OpView(name, "torch.Function", input_names, (), point, forward, vjp, device=device, notes=notes)
    view.probe_purity = lambda values, cot: _purity(make, run, values, cot, name, device)
    view.probe_interleaved = lambda a, b, cot: _interleaved(
        lambda v: call(v, True), a, b, cot, name, device, input_names
    )
    view.split = lambda values: _split(lambda v: call(v, True), values, name, device, input_names)
    return view


def _purity(make: Any, run: Any, values: Values, cot: np.ndarray, name: str, device: str) -> list[str]:
    # Snapshots taken before forward (a Function that centres its input in place, x -= mean, is seen after
    # forward), compared again after backward; the cotangent is the layer's own fresh tensor.
    torch = _torch()
    tensors = make(values, True)
    keep = {k: t.detach().clone() for k, t in tensors.items()}

    def changed(when: str) -> list[str]:
        return [f"{when} modified {k!r} in place" for k, t in tensors.items() if not torch.equal(t.detach(), keep[k])]

    out = run(tensors)
    found = changed("forward")
    c = _cotangent(cot, out, device)
    c_keep = c.clone()
    with user_code(name, "backward"):
        torch.autograd.grad(out, list(tensors.values()), grad_outputs=c, allow_unused=True)
    if not torch.equal(c, c_keep):
        found.append("backward modified grad_output in place")
    before = set(found)
    found += [f for f in changed("backward") if f.replace("backward", "forward") not in before]
    return found


def _split(call: Any, values: Values, name: str, device: str, keys: tuple[str, ...]) -> tuple[np.ndarray, Any]:
    # Forward now, backward when asked: the graph (and the ctx it holds) lives until then.
    out, wrt = call(values)

    def backward(cot: np.ndarray) -> Grads:
        grads = _grads(name, out, wrt, cot, device)
        return {k: None if g is None else _to_numpy(g, copy=False) for k, g in zip(keys, grads, strict=True)}

    return _to_numpy(out.detach()), backward


def _interleaved(
    call: Any, first: Values, second: Values, cot: np.ndarray, name: str, device: str, keys: tuple[str, ...]
) -> tuple:
    # Two live graphs: the backward of the graph built at ``second`` runs after a later forward at ``first``,
    # so it must read its own ctx, not state the later call left on the class or in globals; then once more.
    out, wrt = call(second)
    later, _ = call(first)
    once = _grads(name, out, wrt, cot, device, retain=True)
    twice = _grads(name, out, wrt, cot, device)
    del later
    return tuple(
        {k: None if g is None else _to_numpy(g, copy=False) for k, g in zip(keys, gs, strict=True)}
        for gs in (once, twice)
    )


def module_view(
    module: Any, inputs: tuple[Any, ...], device: str = "cpu", input_names: tuple[str, ...] | None = None
) -> OpView:
    """View of an ``nn.Module``: its float inputs and its ``requires_grad`` parameters, by name."""
    torch = _torch()
    name = type(module).__name__
    module = module.to(device)
    params = {k: p for k, p in module.named_parameters() if p.requires_grad}
    diff = [i for i, a in enumerate(inputs) if _is_array(a)]
    if input_names is None:
        input_names = tuple("input" if len(diff) == 1 else f"input{i}" for i in diff)
    point = {k: _to_numpy(inputs[i]) for k, i in zip(input_names, diff, strict=True)}
    point.update({k: _to_numpy(p) for k, p in params.items()})
    original = {k: p.detach().clone() for k, p in params.items()}

    def make(values: Values, requires_grad: bool) -> dict[str, Any]:
        return {k: _tensor(values[k], device, requires_grad) for k in (*input_names, *params)}

    def run(tensors: dict[str, Any]) -> Any:
        full = [tensors[input_names[diff.index(i)]] if i in diff else inputs[i] for i in range(len(inputs))]
        state = {k: tensors[k] for k in params}
        out = call_layer(
            name, "forward", torch.func.functional_call, module, state, tuple(full), context=lambda: describe(tensors)
        )
        return _output(f"{name}.forward", out)

    def call(values: Values, requires_grad: bool) -> tuple[Any, list[Any]]:
        tensors = make(values, requires_grad)
        return run(tensors), list(tensors.values())

    def forward(values: Values) -> np.ndarray:
        with torch.no_grad():
            out, _ = call(values, False)
        return _to_numpy(out, copy=False)

    def vjp(values: Values, cot: np.ndarray) -> Grads:
        out, wrt = call(values, True)
        grads = _grads(name, out, wrt, cot, device)
        keys = (*input_names, *params)
        return {k: None if g is None else _to_numpy(g, copy=False) for k, g in zip(keys, grads, strict=True)}

    def restore() -> None:
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(original[k])

    notes = [f"torch.nn.Module; parameters: {', '.join(params) or 'none'}"]
    view = OpView(name, "torch.nn.Module", input_names, tuple(params), point, forward, vjp, device, restore, notes)
    view.probe_purity = lambda values, cot: _purity(make, run, values, cot, name, device)
    view.probe_interleaved = lambda a, b, cot: _interleaved(
        lambda v: call(v, True), a, b, cot, name, device, (*input_names, *params)
    )
    view.split = lambda values: _split(lambda v: call(v, True), values, name, device, (*input_names, *params))
    return view
