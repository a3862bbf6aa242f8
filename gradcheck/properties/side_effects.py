"""Side-effect properties: purity (nothing modified in place) and state (caches, accumulation, sharing, reuse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.tolerances import machine_eps
from gradcheck.errors import LayerError
from gradcheck.kinds import Case
from gradcheck.properties.compare import compare
from gradcheck.properties.registry import Outcome, prop
from gradcheck.results import Finding, GradientResult
from gradcheck.view.base import Values, present

__all__ = ["other_case", "purity", "state"]

PURE = "inputs, targets, upstream gradient and parameters unchanged; new arrays returned"


@prop(
    "purity",
    title="purity",
    verifies="forward and backward never modify their inputs, the upstream gradient, the targets or the "
    "parameters in place (snapshots taken before forward, compared after forward and after backward), and "
    "return new arrays (not views of their arguments)",
    guards="that the caller's arrays mean what the derivation says they mean after each step",
    failure_means="an in-place update (dout[x < 0] = 0, x -= mean, x[x == 0] = eps): silently wrong gradients upstream",
)
def purity(trial: Trial) -> Outcome:
    view, values = trial.build()
    if view.probe_purity is None:
        return Outcome("skip", reason=f"no purity probe for protocol {view.protocol}")
    out = view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    found = view.probe_purity(values, cot)
    return Outcome.from_records(
        findings=tuple(Finding("purity", "fail", f, PURE, location=(view.name,)) for f in found)
    )


def other_case(trial: Trial) -> Case:
    """A second case of the kind for a second instance: other constructor arguments (or shapes) where the kind's
    edge cases offer them, chosen by the case's seed, in the case's dtype."""
    options = [c for c in trial.kind.explicit_cases() if c.ctor != trial.case.ctor] or [
        c for c in trial.kind.explicit_cases() if c.shapes != trial.case.shapes
    ]
    if not options:
        return replace(trial.case, seed=trial.case.seed + 1)
    return replace(options[trial.case.seed % len(options)], dtype=trial.case.dtype)


def _other_x(trial: Trial, x: np.ndarray) -> np.ndarray:
    if trial.kind.protocol == "numpy_loss":
        return np.roll(x, 1, axis=1)  # still probabilities, and the targets keep their shape
    return np.concatenate([x, -0.7 * x[::-1]]).astype(x.dtype)  # another batch size, other values


class _Checks:
    """The comparisons of one state trial against fresh instances, and the findings."""

    def __init__(self, trial: Trial, name: str):
        self.trial, self.name = trial, name
        self.eps = machine_eps(trial.case.dtype)
        self.details: list[GradientResult] = []
        self.findings: list[Finding] = []

    def grads(
        self, got: Mapping[str, np.ndarray | None], want: Mapping[str, np.ndarray], noise: dict, label: str
    ) -> None:
        for k, w in want.items():
            g = got.get(k)
            if g is None:
                continue
            self.array(g, w, noise.get(k, 0.0), (k, label))

    def array(self, got: np.ndarray, want: np.ndarray, noise: object, where: tuple[str, str]) -> None:
        # Two runs of the same code: the same NaN or infinity in both is agreement, not state (``finite`` judges it).
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        same = ~np.isfinite(want) & ((got == want) | (np.isnan(got) & np.isnan(want)))
        got, want = np.where(same, 0.0, got), np.where(same, 0.0, want)
        noise = np.nan_to_num(np.asarray(noise, dtype=np.float64), nan=0.0, posinf=0.0)
        spread = self.eps * np.abs(want) + noise
        location = (self.name, "state", *where)
        r = compare(got, want, eps=self.eps, spread=spread, location=location, dtype=self.trial.case.dtype)
        self.details.append(r)

    def raised(self, what: str, exc: LayerError) -> None:
        self.findings.append(
            Finding(
                "state",
                "fail",
                f"{what} raised: {exc}",
                "the same result as a fresh instance run alone",
                location=(self.name, "state"),
                explanation="state shared between instances (class attributes), or a cache from another call",
            )
        )


def _fresh(trial: Trial, cot: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """A fresh instance's output and gradients at the trial's values, and the cotangent used."""
    view, values = trial.build()
    out = view.forward(values)
    if cot is None:
        cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    return np.asarray(out, dtype=np.float64), present(view.vjp(values, cot)), cot


@prop(
    "state",
    title="state",
    verifies="forward(x1), forward(x2 of another batch size), backward gives the gradients at x2, twice (no "
    "accumulation); two instances with other constructor arguments, interleaved (forward A, forward B, backward A, "
    "backward B), each agree with a fresh instance; parameters rebound as a training loop does "
    "(params[k] = params[k] - lr * grads[k]) are the ones used",
    guards="that backward uses the cache of the forward it belongs to and the parameters the caller holds",
    failure_means="a stale cache (x saved only on the first call), gradients accumulated across calls "
    "(grads += ...), state kept on the class instead of the instance or ctx, parameters captured at "
    "construction (self.W = self.params['weight'])",
)
def state(trial: Trial) -> Outcome:
    view, values = trial.build()
    if view.probe_interleaved is None:
        return Outcome("skip", reason=f"no state probe for protocol {view.protocol}")
    _, fresh, cot = _fresh(trial)
    checks = _Checks(trial, view.name)
    noise = trial.reference_noise(values, cot)
    first = {**values, "x": _other_x(trial, values["x"])}
    try:
        once, twice = (present(g) for g in view.probe_interleaved(first, values, cot))
    except LayerError as exc:
        checks.raised("backward after forward(x1), forward(x2) on one instance", exc)
    else:
        checks.grads(once, fresh, noise, "after forward(x1), forward(x2)")
        checks.grads(twice, fresh, noise, "on a second backward")
    _interleaved_instances(trial, checks, fresh, noise, cot)
    _rebound(trial, checks)
    return Outcome.from_records(tuple(checks.details), tuple(checks.findings))


def _interleaved_instances(trial: Trial, checks: _Checks, fresh: dict, noise: dict, cot: np.ndarray) -> None:
    """Instances A (this case) and B (other constructor arguments and inputs): forward A, forward B, backward A,
    backward B. Class-level params/grads dicts or caches make A compute with B's arrays."""
    other = Trial(trial.subject, other_case(trial))
    _, fresh_b, cot_b = _fresh(other)
    view_a, values_a = trial.build()
    view_b, values_b = other.build()
    if view_a.split is None or view_b.split is None:
        return
    try:
        _, back_a = view_a.split(values_a)
        _, back_b = view_b.split(values_b)
        grads_a = present(back_a(cot))
        grads_b = present(back_b(cot_b))
    except LayerError as exc:
        checks.raised("forward A, forward B, backward A, backward B (two instances)", exc)
        return
    checks.grads(grads_a, fresh, noise, "instance A, interleaved with another instance B")
    checks.grads(grads_b, fresh_b, other.reference_noise(values_b, cot_b), "instance B, interleaved with A")


def _moved(values: Values, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    # A training step's new parameters: other values everywhere, in new arrays of the same shape and dtype.
    return {**values, **{k: (-0.7 * values[k] + 0.25).astype(values[k].dtype) for k in names}}


def _rebound(trial: Trial, checks: _Checks) -> None:
    """Parameters rebound in the layer's dict (not written in place) after a first forward must be used."""
    view, values = trial.build()
    if view.probe_rebind is None or not view.param_names:
        return
    moved = _moved(values, view.param_names)
    fresh_view, _ = trial.build()
    want_out = np.asarray(fresh_view.forward(moved), dtype=np.float64)
    cot = np.random.default_rng(trial.case.seed + 1).standard_normal(want_out.shape)
    want = present(fresh_view.vjp(moved, cot))
    try:
        view.forward(values)
        out, grads = view.probe_rebind(moved, cot)
    except LayerError as exc:
        checks.raised("forward and backward after params[k] = new array", exc)
        return
    checks.array(out, want_out, trial.reference_noise(moved), ("output", "after params[k] = new array"))
    checks.grads(present(grads), want, trial.reference_noise(moved, cot), "after params[k] = new array")
