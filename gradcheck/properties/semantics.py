"""Semantic properties: batch semantics, the invariants of each kind, and trainability of networks."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.noise import COTANGENT, perturbation_spread, vjp_noise
from gradcheck.engine.policy import SUM_SAFETY
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import compare, reference_spread
from gradcheck.properties.gradients import layer_noise, undecided
from gradcheck.properties.registry import Outcome, prop
from gradcheck.results import Finding, GradientResult
from gradcheck.view.base import present


def _eps(trial: Trial) -> float:
    return machine_eps(trial.case.dtype)


def _cmp(trial: Trial, got: Any, want: Any, spread: Any, *where: str) -> GradientResult:
    # where = (what the reference is, the array compared): "out" is an output, anything else a gradient.
    compared = "output" if where[-1] in ("out", "loss") else "gradient"
    return compare(
        got,
        want,
        eps=_eps(trial),
        spread=spread,
        location=("batch", *where),
        dtype=trial.case.dtype,
        compared=compared,
        against=where[0],
    )


def _per_sample(trial: Trial) -> list[GradientResult]:
    view, values = trial.build()
    x = values["x"]
    out = view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape).astype(x.dtype)
    spread = reference_spread(view.forward, values, _eps(trial), trial.case.seed, trial.kind.positive)
    spread = spread + trial.reference_noise(values)
    full = present(view.vjp(values, cot.astype(np.float64)))
    noise = trial.reference_noise(values, cot.astype(np.float64))
    perm = np.random.default_rng(trial.case.seed).permutation(x.shape[0])
    results = [_cmp(trial, view.forward({**values, "x": x[perm]}), out[perm], spread[perm], "permutation", "out")]
    singles = [
        present(view.vjp({**values, "x": x[b : b + 1]}, cot[b : b + 1].astype(np.float64))) for b in range(len(x))
    ]
    alone = np.concatenate([view.forward({**values, "x": x[b : b + 1]}) for b in range(len(x))])
    results.append(_cmp(trial, alone, out, spread, "sample alone", "out"))
    names = [k for k in view.names if k in full and all(k in s for s in singles)]
    own: dict = {}
    for k in names:
        parts = [s[k].astype(np.float64) for s in singles]
        want = np.concatenate(parts) if k in view.input_names else np.sum(parts, axis=0)
        mag = np.sum([np.abs(p) for p in parts], axis=0) if k not in view.input_names else np.abs(want)
        what = "sample alone" if k in view.input_names else "sum of per-sample gradients"
        allowed = SUM_SAFETY * _eps(trial) * mag * len(x) + noise.get(k, 0.0) * len(x)
        r = _cmp(trial, full[k], want, allowed, what, k)
        if undecided(r):
            # The batch and each sample alone are two roundings of the layer's own computation (another matmul
            # kernel for B = 1 moves a saturated softmax's 1 − s): its measured noise, confirmed in float64, counts.
            own = own or layer_noise(view, values, cot.astype(np.float64), names, trial.case.dtype, trial.case.seed)
            r = _cmp(trial, full[k], want, allowed + own[k] * len(x), what, k)
        results.append(r)
    return results


def _loss_mean(trial: Trial) -> list[GradientResult]:
    view, values = trial.build()
    b = len(values["x"])
    singles = [trial.build(rows=slice(i, i + 1)) for i in range(b)]
    losses = np.array([float(v.forward(vals)) for v, vals in singles])
    one = np.asarray(1.0)
    results = [
        _cmp(
            trial,
            np.asarray(float(view.forward(values))),
            np.asarray(losses.mean()),
            np.asarray(SUM_SAFETY * _eps(trial) * np.abs(losses).sum()),
            "batch loss is the mean of per-sample losses",
            "loss",
        )
    ]
    dx = view.vjp(values, one)["x"]
    parts = [present(v.vjp(vals, one)).get("x") for v, vals in singles]
    given = [p for p in parts if p is not None]
    if dx is not None and len(given) == len(parts):
        per = np.concatenate(given).astype(np.float64)
        results.append(
            _cmp(
                trial,
                dx,
                per / b,
                SUM_SAFETY * _eps(trial) * np.abs(per) / b,
                "batch gradient is the per-sample gradient / B",
                "x",
            )
        )
    return results


def _batch_coupled(trial: Trial) -> list[GradientResult]:
    view, values = trial.build()
    out = view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    dx = view.vjp(values, cot)["x"]
    if dx is None:
        return []

    def column_sums(v: dict) -> np.ndarray:
        return np.asarray(view.vjp(values, v[COTANGENT])["x"], dtype=np.float64).sum(axis=0)

    # The sum cancels exactly in exact arithmetic; what is left is rounding: of the cotangent's terms, of the
    # oracle's computation, and the layer's own (its sums under ε-moves of every value).
    noise = perturbation_spread(column_sums, {COTANGENT: cot}, _eps(trial), trial.case.seed)
    noise = noise + trial.reference_noise(values, cot)["x"].sum(axis=0)

    def own_sums(v: dict, c: np.ndarray) -> dict:
        return {"x": np.asarray(view.vjp(v, c)["x"], dtype=np.float64).sum(axis=0)}

    noise = noise + vjp_noise(own_sums, values, cot, trial.case.dtype, trial.case.seed)["x"]
    return [
        _cmp(
            trial,
            dx.sum(axis=0),
            np.zeros(dx.shape[1]),
            noise + _eps(trial) * np.abs(dx).sum(axis=0),
            "input gradient sums to zero over the batch (shift invariance)",
            "x",
        )
    ]


SEMANTICS = {"per_sample": _per_sample, "loss_mean": _loss_mean, "batch_coupled": _batch_coupled}


@prop(
    "batch_semantics",
    title="batch semantics",
    verifies="per-sample layers: each sample's output and gradient are those of the sample alone, permuting "
    "the batch permutes the results, parameter gradients are sums of per-sample ones; losses: the batch loss is "
    "the mean of per-sample losses and its gradient carries 1/B; batch-coupled layers: the input gradient "
    "sums to zero over the batch",
    guards="Q1.1c: where the 1/B of the batch loss enters, and which sums run over the batch",
    failure_means="samples leak into each other (a wrong axis), a 1/B missing or applied twice, a parameter "
    "gradient averaged instead of summed",
    cost=2,
)
def batch_semantics(trial: Trial) -> Outcome:
    return Outcome.from_records(tuple(SEMANTICS[trial.kind.semantics](trial)))


@prop(
    "invariants",
    title="invariants of the kind",
    verifies="the kind's own identities: softmax rows sum to 1 and are shift-invariant; each pooling window "
    "passes on exactly its upstream gradient, ties included; batch norm with γ = 1, β = 0 standardises; "
    "normalisations are shift-invariant; activations are the identity on positive inputs; affine layers are affine",
    guards="the structure of the layer that the derivation exploits",
    failure_means="see the named invariant in the message",
    applies=lambda kind: None if kind.invariants else "the kind declares no invariants",
)
def invariants(trial: Trial) -> Outcome:
    return Outcome.from_records(findings=tuple(f for check in trial.kind.invariants for f in check(trial)))


@prop(
    "trainability",
    title="trainability",
    verifies="a few gradient-descent steps on one fixed batch reduce the cross-entropy loss",
    guards="that the gradients point downhill end to end through the network",
    failure_means="a sign error or a gradient that never reaches the parameters' update",
    applies=lambda kind: None if kind.network else "only for network kinds",
)
def trainability(trial: Trial) -> Outcome:
    view, values = trial.build("float64")
    x = values["x"] / max(float(np.sqrt(np.mean(values["x"] ** 2))), 1e-12)  # unit scale: no saturated softmax
    values["x"] = x
    y = np.eye(view.forward(values).shape[1])[
        np.random.default_rng(trial.case.seed).integers(0, 2, len(x)) % view.forward(values).shape[1]
    ]

    def loss(v: dict) -> tuple[float, np.ndarray]:
        p = np.maximum(view.forward(v), 1e-12)
        return float(-(y * np.log(p)).sum(axis=1).mean()), -y / (p * len(x))

    before, dp = loss(values)
    if before < 1e-6:
        return Outcome("pass")  # the loss is already ~0: nothing to descend
    v = dict(values)
    for _ in range(20):
        grads = present(view.vjp(v, dp))
        v = {k: (val - 0.1 * grads[k] if k in view.param_names and k in grads else val) for k, val in v.items()}
        _, dp = loss(v)
    after, _ = loss(v)
    if after < before:
        return Outcome("pass")
    finding = Finding(
        "loss decreases",
        "fail",
        f"the cross-entropy went from {before:.6g} to {after:.6g} in 20 steps of gradient descent (lr 0.1)",
        "a smaller loss",
        location=(view.name, "trainability"),
        explanation="the gradients do not point downhill: a sign error, or a gradient that never reaches the update",
    )
    return Outcome.from_records(findings=(finding,))
