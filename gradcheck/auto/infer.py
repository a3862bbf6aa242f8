"""Infer a :class:`~gradcheck.kinds.Kind` from one example call: protocol, inputs, parameters, batch axis, semantics.

Nothing is declared: the layer is called at the example's shapes and what it does is read off. Float arrays are
the differentiable inputs, anything else is a fixed argument; the parameters are the layer's own (``params`` of a
NumPy module, the ``requires_grad`` parameters of an ``nn.Module``); the batch axis is axis 0 of the inputs whose
leading size is the example's batch when the output's axis 0 follows it as the batch changes; the semantics are
per-sample (a sample's output alone equals its row of the batch's), a loss (a scalar output: the mean or the sum of
per-sample losses, or neither) or batch-coupled. Each finding is reported as a note.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck.checklist.trial import Subject, Trial
from gradcheck.errors import GradcheckError, InvalidArgument
from gradcheck.kinds.base import Case, Edge, Kind
from gradcheck.view import call_layer, find_param_owners
from gradcheck.view.torch_views import is_autograd_function

__all__ = ["AutoKind", "Inferred", "NoOracle", "infer"]

Shape = tuple[int, ...]


class NoOracle(GradcheckError):
    """An auto kind has no reference: the property that asked for one cannot run (pass ``reference=``)."""


#: The skip reason of a property that needs the oracle, and the note that says how to add one.
NO_ORACLE = "needs a reference (oracle): pass --reference MODULE:FUNC or reference=FUNC (see the notes)"
HOW_TO_ADD_ORACLE = (
    "no reference: forward, autograd_agreement, invariants and device_parity are skipped. Add one with "
    "--reference MODULE:FUNC (check_layer(reference=FUNC)): a torch function called with the inputs in order "
    "(fixed arguments in place) and the parameters as keywords; or declare a Kind and fill `reference` (and "
    "`invariants` for the layer's identities)"
)


def _no_oracle(ctor: Mapping[str, Any], inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    raise NoOracle(NO_ORACLE)


@dataclass(frozen=True)
class AutoKind(Kind):
    """A kind inferred from an example; the extra fields are what the probes found (read by the auto properties)."""

    batched: tuple[str, ...] = ()
    found_semantics: str = "unbatched"  # per_sample, batch_coupled, loss_mean, loss_sum, loss, unbatched
    out_tail: Shape = ()
    out_follows_batch: bool = False
    has_oracle: bool = False
    layer_protocol: str = ""  # "NumPy module", "torch.autograd.Function", "torch.nn.Module"

    @property
    def has_params(self) -> bool:
        """Whether the layer has parameters (read from the layer, not declared)."""
        return bool(self.params({}))


@dataclass(frozen=True)
class Inferred:
    """The inferred kind, the object the checklist calls, and the notes saying how the layer was read."""

    kind: AutoKind
    target: Any
    label: str
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------- the example


def _shape_of(value: Any) -> Shape | None:
    """The shape of a float array input given as a shape tuple, a NumPy array or a torch tensor; else None."""
    if isinstance(value, tuple | list) and value and all(isinstance(d, int) and d > 0 for d in value):
        return tuple(int(d) for d in value)
    if isinstance(value, np.ndarray):
        return tuple(value.shape) if value.dtype.kind == "f" else None
    if hasattr(value, "is_floating_point") and hasattr(value, "shape"):
        return tuple(value.shape) if value.is_floating_point() else None
    return None


def _split_example(example: Mapping[str, Any]) -> tuple[list[str], dict[str, Shape], dict[str, Any]]:
    if not isinstance(example, Mapping) or not example:
        raise InvalidArgument(
            "example_inputs must be a non-empty dict in call order, e.g. {'x': (8, 5)} or "
            "{'q': (2, 3, 4), 'k': (2, 5, 4), 'v': (2, 5, 4)}; shapes (tuples) or arrays are inputs, "
            "other values (ints, floats) fixed arguments"
        )
    inputs: dict[str, Shape] = {}
    extras: dict[str, Any] = {}
    for name, value in example.items():
        shape = _shape_of(value)
        if shape is not None:
            inputs[name] = shape
        else:
            extras[name] = value.detach().numpy() if hasattr(value, "detach") else value
    if not inputs:
        raise InvalidArgument(f"example_inputs {dict(example)!r} has no float array input (give a shape: x=(8, 5))")
    return list(example), inputs, extras


# ---------------------------------------------------------------------------------------- protocol adapters


class ModuleCall:
    """An ``nn.Module`` instance seen as a function of its inputs and parameters (``apply(*inputs, *params)``).

    One instance is built from the constructor arguments and kept: state it carries across calls stays visible to
    the state and determinism properties. Parameters are substituted with ``torch.func.functional_call``.
    """

    def __init__(self, module: Any, n_args: int, param_names: tuple[str, ...]) -> None:
        self.module, self.n_args, self.param_names = module, n_args, param_names
        self.__name__ = type(module).__name__

    def apply(self, *args: Any) -> Any:
        """``module(*args[:n])`` with the parameters ``args[n:]`` in place of its own."""
        import torch

        params = dict(zip(self.param_names, args[self.n_args :], strict=True))
        return torch.func.functional_call(self.module, params, tuple(args[: self.n_args]))


def _is_module_class(target: Any) -> bool:
    if not inspect.isclass(target):
        return False
    import torch

    return issubclass(target, torch.nn.Module)


def _protocol(target: Any) -> str:
    if is_autograd_function(target):
        return "torch.autograd.Function"
    if _is_module_class(target):
        return "torch.nn.Module"
    if (
        inspect.isclass(target)
        and callable(getattr(target, "forward", None))
        and callable(getattr(target, "backward", None))
    ):
        return "NumPy module"
    raise InvalidArgument(
        f"cannot check {getattr(target, '__name__', target)!r}: pass a class — a NumPy module (forward/backward), "
        "a torch.nn.Module subclass or a torch.autograd.Function subclass"
    )


def _construct(target: Any, ctor: Mapping[str, Any]) -> Any:
    name = getattr(target, "__name__", str(target))
    return call_layer(name, "__init__", lambda: target(**ctor), context=f"ctor {dict(ctor)!r}")


# ------------------------------------------------------------------------------------------------ the probes


@dataclass
class _Draft:
    """What is known before the probes: enough to build a provisional kind and call the layer."""

    name: str
    protocol: str
    layer_protocol: str
    target: Any
    ctor: dict[str, Any]
    order: list[str]
    inputs: dict[str, Shape]
    extras: dict[str, Any]
    params: dict[str, Shape]
    reference: Callable[..., Any]
    has_oracle: bool

    def shapes_at(self, batch: int | None, batched: tuple[str, ...]) -> dict[str, Shape]:
        """Input shapes with the batch axis of the batched inputs set to ``batch`` (batched inputs first)."""
        first = [n for n in self.inputs if n in batched] + [n for n in self.inputs if n not in batched]
        return {n: ((batch, *self.inputs[n][1:]) if batch and n in batched else self.inputs[n]) for n in first}

    def kind(self, **kw: Any) -> AutoKind:
        """The kind with the probes' findings ``kw`` (batch sizes, batched inputs, semantics, regimes…)."""
        sizes: tuple[int, ...] = kw.pop("batch_sizes", ())
        batched: tuple[str, ...] = kw.get("batched", ())
        shapes = self.shapes_at
        ctor = dict(self.ctor)
        params = dict(self.params)
        call = self._call() if self.protocol == "function" else None
        return AutoKind(
            name=f"auto:{self.name}",
            summary=f"{self.name}, inferred from one example ({self.layer_protocol})",
            protocol=self.protocol,  # type: ignore[arg-type]
            builtin=(),
            ctor=lambda: st.just(ctor),
            shapes=lambda c: (
                st.sampled_from(sizes).map(lambda b: shapes(b, batched)) if sizes else st.just(shapes(None, ()))
            ),
            params=lambda c: params,
            reference=self.reference,
            call=call,
            differentiable_inputs=tuple(self.inputs) if self.protocol != "numpy" else ("x",),
            has_oracle=self.has_oracle,
            layer_protocol=self.layer_protocol,
            **kw,
        )

    def _call(self) -> Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Any, ...]]:
        order, extras, params = list(self.order), dict(self.extras), list(self.params)

        def call(ctor: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(values[n] if n not in extras else extras[n] for n in order) + tuple(values[p] for p in params)

        return call


def _draft(target: Any, example: Mapping[str, Any], ctor: Mapping[str, Any], reference: Any) -> _Draft:
    layer_protocol = _protocol(target)
    order, inputs, extras = _split_example(example)
    name = getattr(target, "__name__", type(target).__name__)
    params: dict[str, Shape] = {}
    subject: Any = target
    if layer_protocol == "NumPy module":
        if len(inputs) != 1 or extras:
            raise InvalidArgument(
                f"{name}: a NumPy module is called as forward(x) with one float array; got {dict(example)!r}"
            )
        instance = _construct(target, ctor)
        params = {f"{p}{k}": tuple(np.shape(o.params[k])) for p, o in find_param_owners(instance) for k in o.params}
        only = next(iter(inputs))
        inputs, order = {"x": inputs[only]}, ["x"]
        protocol = "numpy"
    else:
        protocol = "function"
        if layer_protocol == "torch.nn.Module":
            instance = _construct(target, ctor)
            found = {k: p for k, p in instance.named_parameters() if p.requires_grad}
            params = {k: tuple(p.shape) for k, p in found.items()}
            subject = ModuleCall(instance, len(order), tuple(params))
        elif ctor:
            raise InvalidArgument(f"{name} is a torch.autograd.Function: give its fixed arguments in the example")
    oracle = _oracle(reference, order, extras) if reference is not None else _no_oracle
    return _Draft(
        name,
        protocol,
        layer_protocol,
        subject,
        dict(ctor),
        order,
        inputs,
        extras,
        params,
        oracle,
        reference is not None,
    )


def _oracle(reference: Callable[..., Any], order: list[str], extras: dict[str, Any]) -> Callable[..., Any]:
    def oracle(ctor: Mapping[str, Any], inputs: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        args = [extras[n] if n in extras else inputs[n] for n in order]
        return reference(*args, **params)

    return oracle


class _Caller:
    """Calls the draft's layer at given shapes and values (float64) through the same path as the checklist."""

    def __init__(self, draft: _Draft) -> None:
        self.draft = draft
        self.kind = draft.kind()
        self.subject = Subject(self.kind, draft.target, draft.name)

    def trial(
        self, shapes: Mapping[str, Shape], regime: str = "normal", scale: float = 1.0, dtype: str = "float64"
    ) -> Trial:
        case = Case(self.kind.name, self.draft.ctor, dict(shapes), regime, scale, dtype, 12345)
        return Trial(self.subject, case)

    def forward(self, shapes: Mapping[str, Shape], **kw: Any) -> tuple[np.ndarray, dict[str, np.ndarray], Any]:
        view, values = self.trial(shapes, **kw).build()
        return np.asarray(view.forward(values), dtype=np.float64), values, view


def _try(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # a probe that fails says "no": the layer does not support that call
        return None


def _batch_probe(draft: _Draft, caller: _Caller, out: np.ndarray) -> tuple[tuple[str, ...], int | None]:
    first = next(iter(draft.inputs.values()))
    if not first:
        return (), None
    b0 = first[0]
    candidates = tuple(n for n, s in draft.inputs.items() if s and s[0] == b0)
    moved = _try(lambda: caller.forward(draft.shapes_at(b0 + 2, candidates))[0])
    if moved is None:
        return (), None
    if out.ndim == 0 or (out.size == 1 and moved.size == 1):
        return candidates, b0
    if out.ndim >= 1 and out.shape[0] == b0 and moved.shape[0] == b0 + 2:
        return candidates, b0
    return (), None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-9 * scale))


def _semantics(batched: tuple[str, ...], out: np.ndarray, values: dict[str, np.ndarray], view: Any) -> str:
    b0 = next(iter(values[n] for n in batched)).shape[0]

    def alone(b: int) -> np.ndarray:
        one = {k: (v[b : b + 1] if k in batched else v) for k, v in values.items()}
        return np.asarray(view.forward(one), dtype=np.float64)

    rows = _try(lambda: [alone(b) for b in range(b0)])
    if out.size == 1 and out.ndim <= 1:
        if rows is None:
            return "loss"
        losses = np.array([float(np.squeeze(r)) for r in rows])
        total = np.asarray(float(np.squeeze(out)))
        if _close(total, np.asarray(losses.mean())):
            return "loss_mean"
        return "loss_sum" if _close(total, np.asarray(losses.sum())) else "loss"
    if rows is not None and _close(np.concatenate(rows), out):
        return "per_sample"
    return "batch_coupled"


SEMANTICS_NOTES = {
    "per_sample": "per-sample: each sample's output alone equals its row of the batch's output",
    "batch_coupled": "batch-coupled: a sample's output depends on the rest of the batch",
    "loss_mean": "a loss: the batch loss is the mean of per-sample losses",
    "loss_sum": "a loss: the batch loss is the sum of per-sample losses",
    "loss": "a loss (scalar output) that is neither the mean nor the sum of per-sample losses",
    "unbatched": "no batch axis found (the shapes stay those of the example)",
}


def _finite(fn: Callable[[], Any]) -> bool:
    out = _try(fn)
    return out is not None and bool(np.all(np.isfinite(out[0])))


def _double_backward(draft: _Draft, values: dict[str, np.ndarray]) -> bool:
    """Whether an autograd.Function's backward builds a graph (then its double backward is checked)."""
    if draft.layer_protocol != "torch.autograd.Function":
        return False
    import torch

    def probe() -> bool:
        tensors = {
            k: torch.from_numpy(np.asarray(values[k], dtype=np.float64)).requires_grad_(True) for k in draft.inputs
        }
        args = [draft.extras[n] if n in draft.extras else tensors[n] for n in draft.order]
        out = draft.target.apply(*args)
        out = out[0] if isinstance(out, tuple | list) else out
        grads = torch.autograd.grad(
            out, list(tensors.values()), torch.ones_like(out), create_graph=True, allow_unused=True
        )
        return any(g is not None and g.requires_grad for g in grads)

    return bool(_try(probe))


def infer(
    target: Any,
    example_inputs: Mapping[str, Any],
    *,
    ctor: Mapping[str, Any] | None = None,
    reference: Callable[..., Any] | None = None,
    label: str | None = None,
) -> Inferred:
    """Read a layer from one example call and return the :class:`AutoKind` that describes it, with notes.

    Args:
        target: a NumPy module class, a ``torch.nn.Module`` class or a ``torch.autograd.Function`` subclass.
        example_inputs: the call's arguments in order: a shape tuple (or an array) for each float array input,
            any other value for a fixed argument (``{"x": (2, 5), "beta": 1.5}``).
        ctor: constructor keyword arguments (modules only; fixed for the whole run).
        reference: an optional torch oracle, ``reference(*inputs, **params)``.
        label: how the target is named (default: its class name).

    Raises:
        InvalidArgument: the target follows no supported protocol or the example does not fit it.
        LayerError: the layer cannot even be called at the example.
    """
    draft = _draft(target, example_inputs, dict(ctor or {}), reference)
    caller = _Caller(draft)
    shapes = draft.shapes_at(None, ())
    out, values, view = caller.forward(shapes)
    notes = [f"{draft.layer_protocol}; output {out.shape} at the example"]
    notes.append("inputs: " + ", ".join(f"{n} {s}" for n, s in draft.inputs.items()))
    if draft.extras:
        notes.append("fixed arguments: " + ", ".join(f"{n}={v!r}" for n, v in draft.extras.items()))
    if draft.params:
        notes.append("parameters: " + ", ".join(f"{n} {s}" for n, s in draft.params.items()))
    batched, b0 = _batch_probe(draft, caller, out)
    sizes: tuple[int, ...] = ()
    semantics = "unbatched"
    if b0 is not None:
        tried = sorted({1, b0, 2 * b0 + 1})

        def works(b: int) -> bool:
            return b == b0 or _finite(lambda: caller.forward(draft.shapes_at(b, batched)))

        sizes = tuple(b for b in tried if works(b))
        semantics = _semantics(batched, out, values, view)
        notes.append(f"batch axis 0 of {', '.join(batched)} (the output follows it); batch sizes {sizes}")
    notes.append("semantics: " + SEMANTICS_NOTES[semantics])
    regimes = ["normal", "ties"]
    if _finite(lambda: caller.forward(shapes, regime="large", scale=1e3, dtype="float32")):
        regimes.append("large")
    else:
        notes.append("large values (1e6) give non-finite outputs in float32: the regime 'large' is left out")
    double = _double_backward(draft, values)
    if double:
        notes.append("backward builds a graph: double backward (and jvp, if defined) are checked")
    if reference is None:
        notes.append(HOW_TO_ADD_ORACLE)
    edges = _edges(draft, batched, sizes, b0, regimes)
    follows = bool(batched) and not semantics.startswith("loss")
    kind = draft.kind(
        batch_sizes=sizes,
        batched=batched,
        found_semantics=semantics,
        out_tail=tuple(out.shape[1:]) if follows else tuple(out.shape),
        out_follows_batch=follows,
        regimes=tuple(regimes),
        double_backward=double,
        min_batch=min(sizes) if sizes else 1,
        edges=lambda: edges,
    )
    return Inferred(kind, draft.target, label or draft.name, tuple(notes))


def _edges(
    draft: _Draft, batched: tuple[str, ...], sizes: tuple[int, ...], b0: int | None, regimes: list[str]
) -> list[Edge]:
    """Explicit cases run on every seed: the example itself, B = 1, ties, large values, float32."""
    example = draft.shapes_at(None, ())
    edges = [Edge("the example", draft.ctor, example)]
    if b0 is not None and 1 in sizes and b0 != 1:
        edges.append(Edge("B = 1", draft.ctor, draft.shapes_at(1, batched)))
    if b0 is not None and len(sizes) > 1 and max(sizes) > b0:
        edges.append(Edge("a larger batch", draft.ctor, draft.shapes_at(max(sizes), batched), dtype="float32"))
    edges.append(Edge("ties and exact zeros", draft.ctor, example, regime="ties"))
    if "large" in regimes:
        edges.append(Edge("large values", draft.ctor, example, regime="large", dtype="float32"))
    return edges
