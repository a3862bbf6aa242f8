"""Second-order checks for torch Functions: the backward's own gradient (double backward) and forward mode."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.finite_diff import derivative
from gradcheck.engine.noise import COTANGENT
from gradcheck.engine.policy import ANALYTIC_SAFETY, FD_SAFETY
from gradcheck.engine.summary import worst
from gradcheck.engine.tolerances import base_step, element_scale, machine_eps
from gradcheck.results import GradientResult
from gradcheck.verify import check_view
from gradcheck.view import OpView
from gradcheck.view.base import Values, call_layer


class DetachedBackward(Exception):
    """The backward of a Function that should support double backward builds no graph."""


def _backward_view(fn: Any, args: tuple[Any, ...], names: list[str], cot_shape: tuple[int, ...]) -> OpView:
    """The map ``(inputs, c) ↦ concat(vjp(c))`` built with ``create_graph=True``; its VJP is the double backward."""
    import torch

    diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    keys = [names[i] for i in diff]

    def grads(values: Values, requires_grad: bool) -> tuple[Any, list[Any]]:
        t = {k: torch.from_numpy(np.asarray(values[k], dtype=np.float64)).requires_grad_(True) for k in keys}
        c = torch.from_numpy(np.asarray(values[COTANGENT], dtype=np.float64)).requires_grad_(requires_grad)
        full = [t[names[i]] if i in diff else args[i] for i in range(len(args))]
        out = call_layer(fn.__name__, "apply", fn.apply, *full)
        gs = torch.autograd.grad(out, list(t.values()), c, create_graph=True, allow_unused=True)
        parts = [(torch.zeros_like(t[k]) if g is None else g).reshape(-1) for k, g in zip(keys, gs, strict=True)]
        flat = torch.cat(parts)
        return flat, [*t.values(), c]

    def forward(values: Values) -> np.ndarray:
        return grads(values, False)[0].detach().numpy()

    def vjp(values: Values, cot: np.ndarray) -> dict[str, np.ndarray | None]:
        flat, wrt = grads(values, True)
        if not flat.requires_grad:
            return {k: None for k in (*keys, COTANGENT)}
        gs = torch.autograd.grad(flat, wrt, torch.from_numpy(np.asarray(cot, np.float64)), allow_unused=True)
        return {
            k: (np.zeros(w.shape) if g is None else g.detach().numpy())
            for k, w, g in zip((*keys, COTANGENT), wrt, gs, strict=True)
        }

    point = {k: np.asarray(args[i], dtype=np.float64) for k, i in zip(keys, diff, strict=True)}
    point[COTANGENT] = np.zeros(cot_shape)
    return OpView(f"{fn.__name__} backward", "double backward", (*keys, COTANGENT), (), point, forward, vjp)


def _jvp_check(trial: Trial, fn: Any, args: tuple[Any, ...], names: list[str]) -> list[GradientResult]:
    import torch
    import torch.autograd.forward_ad as fwad

    diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    rng = np.random.default_rng(trial.case.seed)
    tangents = {i: (rng.integers(0, 2, args[i].shape) * 2 - 1) * element_scale(args[i]) for i in diff}

    def f(t: float) -> np.ndarray:
        full = [torch.from_numpy(args[i] + t * tangents[i]) if i in diff else args[i] for i in range(len(args))]
        with torch.no_grad():
            return fn.apply(*full).numpy()

    with fwad.dual_level():
        full = [
            fwad.make_dual(torch.from_numpy(args[i]), torch.from_numpy(tangents[i])) if i in diff else args[i]
            for i in range(len(args))
        ]
        tangent = fwad.unpack_dual(call_layer(fn.__name__, "jvp", fn.apply, *full)).tangent.numpy()
    est = derivative(f, f(0.0), t=base_step(np.float64), eps=machine_eps(np.float64))
    # The forward-mode tangent is an analytic derivative like a VJP: the same bounds as the engine's judge.
    tol = FD_SAFETY * est.error + ANALYTIC_SAFETY * machine_eps(np.float64) * (np.abs(tangent) + est.slope_mag)
    record = worst(
        (fn.__name__, "jvp"),
        tangent,
        est.value,
        tol,
        mode="forward",
        dtype="float64",
        eval_dtype="float64",
        n_evals=est.n_evals,
        shape=tangent.shape,
    )
    return [record]


def check_double_backward(trial: Trial) -> list[GradientResult]:
    """Double backward by finite differences of the backward; forward mode where the Function defines jvp."""
    import torch

    view, values = trial.build("float64")
    fn = trial.subject.target
    assert trial.kind.call is not None
    args = tuple(
        np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else v
        for v in trial.kind.call(trial.case.ctor, values)
    )
    names = list(view.names) + [f"arg{i}" for i in range(len(args))]
    out_shape = view.forward(values).shape
    bview = _backward_view(fn, args, names, out_shape)
    point = dict(bview.point)
    point[COTANGENT] = np.random.default_rng(trial.case.seed).standard_normal(out_shape)
    flat = bview.vjp(point, np.zeros(bview.forward(point).shape))
    if all(g is None for g in flat.values()):
        # The cotangent enters every VJP linearly, so a backward with a graph always depends on it.
        raise DetachedBackward(
            f"{fn.__name__}.backward is not differentiable: with create_graph=True its gradients carry no graph "
            "(built from detached tensors, .data, NumPy or under no_grad), so double backward gives nothing"
        )
    results = check_view(bview, point, seed=trial.case.seed % 2**31)
    if getattr(fn, "jvp", None) is not torch.autograd.Function.jvp:
        results += _jvp_check(trial, fn, args, names)
    return results
