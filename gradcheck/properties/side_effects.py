"""Side-effect properties: purity (nothing modified in place) and state (caches, accumulation, reuse)."""

from __future__ import annotations

import numpy as np

from gradcheck.checklist.trial import Trial
from gradcheck.engine.tolerances import machine_eps
from gradcheck.properties.compare import compare
from gradcheck.properties.registry import Outcome, prop
from gradcheck.report.text import format_result
from gradcheck.view.base import present


@prop(
    "purity",
    title="purity",
    verifies="forward and backward never modify their inputs, the upstream gradient, the targets or the "
    "parameters in place, and return new arrays (not views of their arguments)",
    guards="that the caller's arrays mean what the derivation says they mean after each step",
    failure_means="an in-place update (dout[x < 0] = 0, x -= mean): silently wrong gradients upstream",
)
def purity(trial: Trial) -> Outcome:
    view, values = trial.build()
    if view.probe_purity is None:
        return Outcome("skip", f"no purity probe for protocol {view.protocol}")
    out = view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    return Outcome.from_problems(view.probe_purity(values, cot))


def _other_x(trial: Trial, x: np.ndarray) -> np.ndarray:
    if trial.kind.protocol == "numpy_loss":
        return np.roll(x, 1, axis=1)  # still probabilities
    return (-0.7 * x[::-1]).astype(x.dtype)


@prop(
    "state",
    title="state",
    verifies="forward(x1), forward(x2), backward gives the gradients at x2; a second backward gives the same "
    "gradients (no accumulation); the reused instance agrees with a fresh one",
    guards="that backward uses the cache of the forward it belongs to",
    failure_means="a stale cache (x saved only on the first call), gradients accumulated across calls "
    "(grads += ...), state kept on the class instead of the instance or ctx",
)
def state(trial: Trial) -> Outcome:
    view, values = trial.build()
    if view.probe_interleaved is None:
        return Outcome("skip", f"no state probe for protocol {view.protocol}")
    first = {**values, "x": _other_x(trial, values["x"])}
    # The probed instance must see forward(x1) first: a cache kept from its first call only is the bug sought.
    fresh_view, _ = trial.build()
    out = fresh_view.forward(values)
    cot = np.random.default_rng(trial.case.seed).standard_normal(out.shape)
    fresh = present(fresh_view.vjp(values, cot))
    once, twice = (present(g) for g in view.probe_interleaved(first, values, cot))
    eps = machine_eps(trial.case.dtype)
    problems, details = [], []
    noise = trial.reference_noise(values, cot)
    for k, want in fresh.items():
        if k not in once or k not in twice:
            continue
        spread = eps * np.abs(want) + noise.get(k, 0.0)
        for label, got in (("after forward(x1), forward(x2)", once[k]), ("on a second backward", twice[k])):
            r = compare(got, want, eps=eps, spread=spread, location=(view.name, "state", k), dtype=trial.case.dtype)
            details.append(r)
            if not r.passed:
                problems.append(f"gradient of {k!r} {label} differs from a fresh instance's:\n{format_result(r)}")
    return Outcome.from_problems(problems, tuple(details))
