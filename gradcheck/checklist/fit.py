"""Does a class fit a kind? The preflight run before any property, and how the contract calls a constructor.

A class that follows another protocol (an ``nn.Module`` checked as a NumPy kind, a loss checked as a layer), whose
constructor cannot take the contract's arguments, or whose forward gives an output of another rank than the kind's
is not a wrong layer of that kind: it is the wrong class, and one line saying so (exit status 2 in the CLI) is worth
more than a failure in every property.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings

from gradcheck.errors import InvalidArgument, InvalidTarget, LayerError
from gradcheck.kinds import Case, Kind
from gradcheck.view.base import call_layer

__all__ = ["check_device", "check_fits", "constructor_call", "contract_order", "describe_target"]

_NUMPY_CPU_ONLY = "NumPy layers run on the CPU; --device cuda applies to torch kinds"


def _name(target: Any) -> str:
    return getattr(target, "__name__", None) or type(target).__name__


def _torch_kind(target: Any) -> str | None:
    # "Function" / "Module" for torch classes, without importing torch for NumPy code that never did.
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not inspect.isclass(target):
        return None
    if issubclass(target, torch.autograd.Function):
        return "Function"
    if issubclass(target, torch.nn.Module):
        return "Module"
    return None


def _positional_arity(fn: Any) -> int | None:
    """How many positional arguments ``fn`` takes besides ``self`` (``None``: any number, or unknown)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return max(len(required) - 1, 0)  # the unbound method's self


def _accepts(fn: Any, n: int) -> bool:
    """Whether the unbound method ``fn`` can be called with ``n`` positional arguments after ``self``."""
    try:
        inspect.signature(fn).bind(None, *range(n))
    except TypeError:
        return False
    except ValueError:  # no signature to read: let the call decide
        return True
    return True


def _is_factory(target: Any) -> bool:
    return inspect.isroutine(target) or isinstance(target, functools.partial)


def describe_target(target: Any) -> str:
    """What ``target`` is, in the contract's words: ``a torch.autograd.Function``, ``a NumPy loss module``…"""
    if not inspect.isclass(target):
        return "a function" if _is_factory(target) else f"an instance of {type(target).__name__}, not a class"
    torch_kind = _torch_kind(target)
    if torch_kind == "Function":
        return "a torch.autograd.Function"
    if torch_kind == "Module":
        return "a torch.nn.Module"
    forward, backward = getattr(target, "forward", None), getattr(target, "backward", None)
    if not (callable(forward) and callable(backward)):
        missing = " and ".join(n for n, f in (("forward", forward), ("backward", backward)) if not callable(f))
        return f"a class without {missing}"
    return _DESCRIBED["numpy_loss" if _positional_arity(backward) == 2 else "numpy"]


_EXPECTED = {
    "numpy": "a NumPy module with forward(x) and backward(dout)",
    "numpy_loss": "a NumPy loss module with forward(x, y) and backward(x, y)",
    "function": "a torch.autograd.Function subclass (called through apply)",
    "module": "a torch.nn.Module subclass",
}


def _protocol_problem(kind: Kind, target: Any) -> str | None:
    if not inspect.isclass(target):
        # A factory (a function or functools.partial making the layer) is called like a class; what it makes is
        # judged by the properties. A Function kind needs the class itself (apply is a classmethod).
        return None if _is_factory(target) and kind.protocol != "function" else describe_target(target)
    torch_kind = _torch_kind(target)
    if kind.protocol == "function":
        return None if torch_kind == "Function" else describe_target(target)
    if kind.protocol == "module":
        return None if torch_kind == "Module" else describe_target(target)
    if torch_kind is not None:
        return describe_target(target)
    forward, backward = getattr(target, "forward", None), getattr(target, "backward", None)
    if not (callable(forward) and callable(backward)):
        return describe_target(target)
    n = 2 if kind.protocol == "numpy_loss" else 1
    if _accepts(forward, n) and _accepts(backward, n):
        return None
    if describe_target(target) != _DESCRIBED[kind.protocol]:
        return describe_target(target)
    return f"a class whose forward takes {_method_takes(forward)} and backward takes {_method_takes(backward)}"


#: What :func:`describe_target` says of a class that follows the protocol.
_DESCRIBED = {
    "numpy": "a NumPy module (forward(x) / backward(dout))",
    "numpy_loss": "a NumPy loss module (forward(x, y) / backward(x, y))",
}


def _method_takes(fn: Any) -> str:
    sig = _signature(fn)
    return _takes(sig) if sig is not None else "unknown arguments"


# --- constructors -------------------------------------------------------------------------------------------


def _signature(target: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):  # builtins and some extension types have none
        return None


def _takes(sig: inspect.Signature) -> str:
    # Names and defaults only: annotations make the one line long and say nothing about the fit.
    bare = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
        return_annotation=sig.empty,
    )
    return "no arguments" if not bare.parameters else str(bare)


def contract_order(kind: Kind) -> tuple[str, ...]:
    """The kind's constructor arguments in their declared order (``in_features, out_features``).

    Read from the declaration, never from a drawn case: Hypothesis draws ``fixed_dictionaries`` with their keys in
    any order. ``Kind.ctor_args`` where the kind declares it, else the first explicit edge case's constructor
    (written out by hand in the declaration), else nothing (the case's own order is kept).
    """
    declared = getattr(kind, "ctor_args", None)
    if declared:
        return tuple(declared)
    edges = getattr(kind, "edges", None)
    for edge in edges() if callable(edges) else ():
        if edge.ctor:
            return tuple(edge.ctor)
    return ()


def _in_contract_order(kind: Kind, ctor: Mapping[str, Any]) -> dict[str, Any]:
    order = contract_order(kind)
    return {k: ctor[k] for k in (*[k for k in order if k in ctor], *[k for k in ctor if k not in order])}


def constructor_call(kind: Kind, target: Any, ctor: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments with which the contract calls ``target``'s constructor.

    Positionally in the kind's declared order, as the course's code calls them (``LinearModule(in, out)``), so that
    renamed parameters (``n_in, n_out``) work; by keyword when the constructor names every argument exactly as the
    contract does (the names then say which is which, whatever the order), or when only keywords bind. Decided
    with ``inspect.Signature.bind``, before anything is called.

    Raises:
        InvalidTarget: the constructor can take the contract's arguments neither way (one line naming both).
    """
    ctor = _in_contract_order(kind, ctor)
    sig = _signature(target)
    values = tuple(ctor.values())
    if sig is None:
        return values, {}
    params = sig.parameters
    named = all(
        k in params and params[k].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for k in ctor
    )
    attempts: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((), dict(ctor)), (values, {})]
    if not named:
        attempts.reverse()
    for args, kwargs in attempts:
        try:
            sig.bind(*args, **kwargs)
        except TypeError:
            continue
        return args, kwargs
    passes = f"({', '.join(ctor)})" if ctor else "no arguments"
    raise InvalidTarget(
        f"{_name(target)} does not fit kind {kind.name!r}: its constructor takes {_takes(sig)}, "
        f"the contract passes {passes}"
    )


# --- the preflight ------------------------------------------------------------------------------------------


def check_device(kind: Kind, device: str) -> None:
    """Refuse a device the kind cannot run on here, with the one-line reason.

    Raises:
        InvalidArgument: ``device`` is not ``cpu``/``cuda``; ``cuda`` for a NumPy kind; ``cuda`` without CUDA.
    """
    if device not in ("cpu", "cuda"):
        raise InvalidArgument(f"device={device!r}: expected 'cpu' or 'cuda'")
    if device != "cuda":
        return
    if kind.protocol in ("numpy", "numpy_loss"):
        raise InvalidArgument(_NUMPY_CPU_ONLY)
    import torch

    if not torch.cuda.is_available():
        raise InvalidArgument("CUDA is not available (torch.cuda.is_available() is False)")


def _preflight_case(kind: Kind) -> Case:
    # A small case whose sizes tell the dimensions apart (batch and features ≥ 2 where the kind allows it),
    # else the smallest one. Hypothesis' ``find`` shrinks to it deterministically.
    quiet = settings(
        database=None,
        derandomize=True,
        max_examples=200,
        deadline=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    strategy = kind.case_strategy(dtypes=("float64",))
    try:
        return find(strategy, lambda c: all(min(s) >= 2 for s in c.shapes.values() if s), settings=quiet)
    except Exception:  # no such case for this kind (or find gave up): the smallest will do
        return find(strategy, lambda c: True, settings=quiet)


def _forward_rank(kind: Kind, target: Any, case: Case, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    """The rank of the output of one forward at ``case``; ``None`` when the layer's own code failed (its error is
    then the properties' to report, attributed and located) or returned something that is not an array."""
    inputs, params = kind.materialise(case)
    name = _name(target)
    try:
        if kind.protocol == "function":
            import torch

            tensors = {k: torch.from_numpy(v) for k, v in {**inputs, **params}.items()}
            assert kind.call is not None
            out = call_layer(name, "apply", target.apply, *kind.call(case.ctor, tensors))
            out = out[0] if isinstance(out, tuple | list) and out else out
        else:
            layer = call_layer(name, "__init__", lambda: target(*args, **kwargs))
            if kind.protocol == "module":
                import torch

                x = torch.from_numpy(inputs["x"]).to(torch.get_default_dtype())  # the module's own dtype
                out = call_layer(name, "forward", layer, x)
            else:
                xs = (inputs["x"], inputs["y"]) if kind.protocol == "numpy_loss" else (inputs["x"],)
                out = call_layer(name, "forward", layer.forward, *xs)
    except LayerError:
        return None
    shape = getattr(out, "shape", None)
    if shape is None and not isinstance(out, float | np.floating):
        return None
    return len(tuple(shape)) if shape is not None else 0


def check_fits(kind: Kind, target: Any) -> None:
    """Refuse ``target`` when it is not an implementation of ``kind`` at all; run before any property.

    Three checks, cheapest first: the protocol (a NumPy module with ``forward``/``backward`` taking the kind's
    arguments, a loss's ``(x, y)``, an ``autograd.Function``, an ``nn.Module``); the constructor (it accepts the
    contract's arguments, see :func:`constructor_call`); and one forward on a small case, whose output must have
    the rank of the kind's (a 4-d pooling output is no linear layer's). An exception from the layer's own code is
    not a misfit: it is left to the properties, which report it located in the user's file. Neither is an output
    of the right rank but the wrong shape: that is a wrong layer of the kind, which the ``interface`` property
    fails. Whatever the layer prints here is swallowed.

    Raises:
        InvalidTarget: one line naming what the kind expects and what ``target`` is, e.g. ``ReLUModule does not
            fit kind 'linear': its constructor takes no arguments, the contract passes (in_features,
            out_features)``.
    """
    given = _protocol_problem(kind, target)
    if given is not None:
        raise InvalidTarget(
            f"{_name(target)} does not fit kind {kind.name!r}: the kind expects {_EXPECTED[kind.protocol]}, "
            f"{_name(target)} is {given}"
        )
    case = _preflight_case(kind)
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if kind.protocol == "function":
        _check_apply(kind, target, case)
    else:
        args, kwargs = constructor_call(kind, target, case.ctor)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rank = _forward_rank(kind, target, case, args, kwargs)
    if rank is None or kind.protocol == "numpy_loss":  # a loss's per-sample vector is a wrong loss, not a misfit
        return
    inputs, params = kind.materialise(case)
    want = _reference_rank(kind, case, inputs, params)
    if rank != want:
        raise InvalidTarget(
            f"{_name(target)} does not fit kind {kind.name!r}: its forward at {case.describe()} returned a "
            f"{rank}-d output, the kind's is {want}-d"
        )


def _check_apply(kind: Kind, target: Any, case: Case) -> None:
    assert kind.call is not None
    inputs, params = kind.materialise(case)
    n = len(kind.call(case.ctor, {**inputs, **params}))
    import torch

    # forward(ctx, *args), or forward(*args) with a separate setup_context(ctx, inputs, output) (torch ≥ 2.0)
    with_ctx = getattr(target, "setup_context", None) is getattr(torch.autograd.Function, "setup_context", None)
    if not _accepts(target.forward, n if with_ctx else n - 1):
        sig = _signature(target.forward)
        takes = _takes(sig) if sig is not None else "other arguments"
        raise InvalidTarget(
            f"{_name(target)} does not fit kind {kind.name!r}: its forward takes {takes}, the contract calls "
            f"apply with {n} arguments"
        )


def _reference_rank(kind: Kind, case: Case, inputs: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> int:
    import torch

    torch_inputs = {k: torch.from_numpy(v) for k, v in inputs.items()}
    torch_params = {k: torch.from_numpy(v) for k, v in params.items()}
    return int(kind.reference(case.ctor, torch_inputs, torch_params).dim())
