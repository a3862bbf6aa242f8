"""Contract properties: the interface, the forward values, finiteness and the nn.Module contract."""

from __future__ import annotations

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import compare, perturbation_spread
from gradcheck.properties.registry import Outcome, prop
from gradcheck.report.text import format_result


@prop(
    "interface",
    title="interface",
    verifies="the constructor accepts the drawn arguments; output shape and dtype follow the contract; every "
    "parameter has a gradient of its shape and dtype",
    guards="the bookkeeping of the derivation: which arrays exist and what shape each gradient has",
    failure_means="a missing or misnamed attribute, a transposed parameter, a gradient of the wrong shape or a "
    "float32 input silently computed in float64 (or the reverse)",
)
def interface(trial: Trial) -> Outcome:
    view, values = trial.build()
    problems = []
    out = view.forward(values)
    want = trial.reference_forward(values)
    if out.shape != want.shape:
        problems.append(f"output shape {out.shape}, expected {want.shape}")
    if out.dtype != np.dtype(trial.case.dtype):
        problems.append(f"output dtype {out.dtype} for {trial.case.dtype} input, expected {trial.case.dtype}")
    cot = np.ones(out.shape)
    grads = view.vjp(values, cot)
    for k in view.names:
        g = grads.get(k)
        if g is None:
            if k in view.param_names:
                problems.append(f"no gradient for parameter {k!r}")
            continue
        if g.shape != values[k].shape:
            problems.append(f"gradient of {k!r} has shape {g.shape}, expected {values[k].shape}")
        if k in view.param_names and g.dtype != values[k].dtype:
            problems.append(f"gradient of {k!r} has dtype {g.dtype}, expected {values[k].dtype} (the parameter's)")
    dx = grads.get("x")
    if dx is not None and dx.dtype != np.dtype(trial.case.dtype):
        problems.append(f"input gradient has dtype {dx.dtype}, expected {trial.case.dtype}")
    if trial.kind.protocol == "function" and not problems:
        problems += _one_input_at_a_time(trial, values, cot, grads)
    return Outcome.from_problems(problems)


def _one_input_at_a_time(trial: Trial, values: dict, cot: np.ndarray, grads: dict) -> list[str]:
    """A Function called with only one input requiring a gradient (a frozen input, a frozen layer) must still give
    that input its gradient: ``ctx.needs_input_grad`` decides what may be skipped, never what is returned for it."""
    import torch

    fn = trial.subject.target
    assert trial.kind.call is not None
    args = trial.kind.call(trial.case.ctor, values)
    names = [next((k for k, v in values.items() if v is a), None) for a in args]
    problems = []
    for k in (n for n in names if n is not None and grads.get(n) is not None):
        tensors = [
            torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(n == k) if n is not None else a
            for a, n in zip(args, names, strict=True)
        ]
        wrt = tensors[names.index(k)]
        try:
            out = fn.apply(*tensors)
            out = out[0] if isinstance(out, tuple | list) else out
            (g,) = torch.autograd.grad(out, [wrt], torch.from_numpy(cot).to(out.dtype), allow_unused=True)
        except Exception as exc:  # the layer's own failure, reported as such
            problems.append(f"with only {k!r} requiring a gradient, backward raised {type(exc).__name__}: {exc}")
            continue
        full = grads[k].astype(np.float64)
        if g is None:
            problems.append(
                f"with only {k!r} requiring a gradient, backward returned None for it "
                "(ctx.needs_input_grad read for the wrong input?)"
            )
            continue
        err = float(np.max(np.abs(g.detach().numpy().astype(np.float64) - full), initial=0.0))
        tol = 64 * machine_eps(trial.case.dtype) * float(np.max(np.abs(full), initial=0.0))
        if g.shape != wrt.shape or err > tol:
            problems.append(
                f"with only {k!r} requiring a gradient, its gradient differs from the one computed "
                f"when every input requires one (off by {err:.3g}, allowed {tol:.3g}): backward "
                "depends on ctx.needs_input_grad of the other inputs"
            )
    return problems


@prop(
    "forward",
    title="forward matches the reference",
    verifies="the output equals the kind's PyTorch oracle at the same inputs and parameters, including extreme "
    "but valid values (large logits, near-constant features, probabilities near 0, exact ties); tolerance from "
    "the oracle's own sensitivity to rounding the inputs",
    guards="the forward equations the backward is derived from",
    failure_means="the forward computes another function (a wrong axis, a constructor argument ignored, the "
    "unbiased variance, overflow for large values)",
)
def forward(trial: Trial) -> Outcome:
    view, values = trial.build()
    out = view.forward(values)
    want = trial.reference_forward(values)
    spread = perturbation_spread(trial.reference_forward, values, machine_eps(trial.case.dtype), trial.case.seed)
    spread = spread + trial.reference_noise(values)
    r = compare(
        out,
        want,
        eps=machine_eps(trial.case.dtype),
        spread=spread,
        location=(view.name, "forward"),
        dtype=trial.case.dtype,
        seed=trial.case.seed,
    )
    return Outcome("pass", details=(r,)) if r.passed else Outcome("fail", format_result(r), (r,))


@prop(
    "finite",
    title="finite outputs and gradients",
    verifies="outputs and all gradients are finite everywhere in the kind's domain",
    guards="numerical stability of each step (max-subtraction in softmax, ε inside the square root)",
    failure_means="overflow (exp of a large logit), division by zero, log of zero",
)
def finite(trial: Trial) -> Outcome:
    view, values = trial.build()
    out = view.forward(values)
    problems = [] if np.all(np.isfinite(out)) else [f"output has {int((~np.isfinite(out)).sum())} non-finite entries"]
    grads = view.vjp(values, np.random.default_rng(trial.case.seed).standard_normal(out.shape))
    for k, g in grads.items():
        if g is not None and not np.all(np.isfinite(g)):
            problems.append(f"gradient of {k!r} has {int((~np.isfinite(g)).sum())} non-finite entries")
    return Outcome.from_problems(problems)


@prop(
    "module_contract",
    title="nn.Module contract",
    verifies="parameters are registered nn.Parameters with the documented initial values and receive .grad "
    "after backward",
    guards="that the optimiser will see and update the parameters the derivation differentiates",
    failure_means="a parameter stored as a plain tensor (never trained), a wrong initial value, a gradient that "
    "never reaches .grad",
    applies=lambda kind: None if kind.protocol == "module" else "only for torch.nn.Module kinds",
)
def module_contract(trial: Trial) -> Outcome:
    import torch

    layer = trial.construct()
    params = dict(layer.named_parameters())
    names = {k: trial.placed(k) for k in trial.arrays[1]}  # the layer's own names (layout)
    problems = [
        f"parameter {k!r} is not registered (expected an nn.Parameter)" for k, n in names.items() if n not in params
    ]
    for k, value in trial.kind.init.items():
        if names.get(k) in params and not torch.all(params[names[k]].detach() == value):
            problems.append(f"parameter {k!r} ({names[k]}) is not initialised to {value}")
    if problems:
        return Outcome("fail", "\n".join(problems))
    x = torch.from_numpy(trial.arrays[0]["x"].astype(np.float64)).to(next(iter(params.values())).dtype)
    layer(x).sum().backward()
    problems = [f"parameter {k!r} has no .grad after backward" for k, p in params.items() if p.grad is None]
    return Outcome.from_problems(problems)
