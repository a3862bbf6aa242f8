"""Run the checklist: every applicable property of a kind on Hypothesis-generated cases, failures shrunk."""

from __future__ import annotations

import contextlib
import io
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from gradcheck.checklist.profiles import default_profile, examples_for
from gradcheck.checklist.trial import Subject, Trial
from gradcheck.errors import GradcheckError, InvalidArgument, LayerError
from gradcheck.kinds import Case, Kind, get_kind
from gradcheck.properties.registry import Outcome, Property, load

__all__ = ["KindReport", "PropertyResult", "check_kind", "run_property"]


@dataclass(frozen=True)
class PropertyResult:
    """The verdict of one property over all its cases; failures carry the shrunk example."""

    name: str
    title: str
    status: str  # pass, fail, error, skip
    message: str = ""
    example: str | None = None
    reproduce: str | None = None
    captured: str = ""
    n_examples: int = 0
    seconds: float = 0.0
    case: Case | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the case object is rendered as ``example``)."""
        d = {k: getattr(self, k) for k in ("name", "title", "status", "message", "n_examples", "seconds")}
        if self.status in ("fail", "error"):
            d.update(example=self.example, reproduce=self.reproduce)
            if self.captured:
                d["captured_output"] = self.captured
        return d


@dataclass(frozen=True)
class KindReport:
    """The checklist's result for one implementation of one kind."""

    kind: str
    target: str
    seed: int
    profile: str
    properties: tuple[PropertyResult, ...]
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """True when no property failed or errored (skips are fine)."""
        return all(p.status in ("pass", "skip") for p in self.properties)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``gradcheck check --format json``."""
        return {
            "passed": self.passed,
            "kind": self.kind,
            "target": self.target,
            "seed": self.seed,
            "profile": self.profile,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "properties": [p.to_dict() for p in self.properties],
        }


class _Stop(Exception):
    def __init__(self, outcome: Outcome, case: Case):
        self.outcome, self.case = outcome, case


def _evaluate(prop: Property, trial: Trial) -> Outcome:
    try:
        return prop.fn(trial)
    except LayerError as exc:
        return Outcome("error", str(exc))
    except GradcheckError as exc:
        return Outcome("error", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a harness bug must become a report, never a crash
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Outcome("error", f"internal error in property {prop.name!r}: {tb}")


def _reproduce(kind: str, target: str, seed: int, prop: str, profile: str) -> str:
    return f"gradcheck check {kind} {target} --seed {seed} --profile {profile} --property {prop}"


def run_property(
    prop: Property, subject: Subject, *, seed: int, profile: str, max_examples: int | None = None
) -> PropertyResult:
    """Run ``prop`` on generated cases; on failure Hypothesis shrinks to a minimal case, which is recorded."""
    skip = prop.applies(subject.kind)
    if skip:
        return PropertyResult(prop.name, prop.title, "skip", skip)
    n = examples_for(profile, prop.cost, max_examples)
    seen: dict[str, Any] = {"n": 0, "last": None}
    out = io.StringIO()

    def body(case: Case) -> None:
        seen["n"] += 1
        outcome = _evaluate(prop, Trial(subject, case))
        if outcome.status == "skip":
            raise _Stop(outcome, case)
        if outcome.status in ("fail", "error"):
            seen["last"] = (outcome, case)
            raise _Stop(outcome, case)

    test = settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )(hypothesis_seed(seed)(given(subject.kind.case_strategy())(body)))
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            test()
    except _Stop as stop:
        return _finish(prop, subject, stop.outcome, stop.case, seed, profile, out, seen["n"], start)
    except Exception as exc:  # Hypothesis' own errors (flaky failures among them)
        if seen["last"] is not None:
            outcome, case = seen["last"]
            return _finish(prop, subject, outcome, case, seed, profile, out, seen["n"], start)
        return PropertyResult(
            prop.name,
            prop.title,
            "error",
            f"{type(exc).__name__}: {exc}",
            captured=out.getvalue(),
            seconds=time.perf_counter() - start,
        )
    return PropertyResult(prop.name, prop.title, "pass", n_examples=seen["n"], seconds=time.perf_counter() - start)


def _variants(case: Case) -> list[tuple[str, Case]]:
    """The minimal failing case changed in one respect each, with the condition the change removes."""
    out = []
    if case.dtype == "float32":
        out.append(("only in float32 (the same case passes in float64)", replace(case, dtype="float64")))
    if case.batch == 1:
        shapes = {k: (3, *s[1:]) for k, s in case.shapes.items()}
        out.append(("only at batch size 1 (the same case passes with a batch of 3)", replace(case, shapes=shapes)))
    if case.regime != "normal":
        out.append(
            (f"only in the value regime {case.regime!r} (passes with normal values)", replace(case, regime="normal"))
        )
    if case.scale != 1.0:
        out.append((f"only at scale {case.scale:g} (passes at scale 1)", replace(case, scale=1.0)))
    return out


def differential_diagnosis(prop: Property, subject: Subject, case: Case) -> str:
    """Which single change to the shrunk case makes the property pass: "fails only in float32", "only at
    batch size 1", "only for large values"… Hypothesis has already minimised sizes and arguments."""
    found = [label for label, variant in _variants(case) if _evaluate(prop, Trial(subject, variant)).status == "pass"]
    return "diagnosis: fails " + "; ".join(found) if found else ""


def _finish(
    prop: Property,
    subject: Subject,
    outcome: Outcome,
    case: Case,
    seed: int,
    profile: str,
    out: io.StringIO,
    n: int,
    start: float,
) -> PropertyResult:
    if outcome.status == "skip":
        return PropertyResult(
            prop.name, prop.title, "skip", outcome.message, n_examples=n, seconds=time.perf_counter() - start
        )
    message = outcome.message
    if outcome.status == "fail":
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            contrast = differential_diagnosis(prop, subject, case)
        message = f"{message}\n{contrast}" if contrast else message
    return PropertyResult(
        prop.name,
        prop.title,
        outcome.status,
        message,
        example=f"{subject.kind.name}{case.describe()}",
        reproduce=_reproduce(subject.kind.name, subject.label, seed, prop.name, profile),
        captured=out.getvalue(),
        n_examples=n,
        seconds=time.perf_counter() - start,
        case=case,
    )


def check_kind(
    kind: str | Kind,
    cls: Any,
    *,
    seed: int = 0,
    profile: str | None = None,
    max_examples: int | None = None,
    properties: list[str] | None = None,
    device: str = "cpu",
    label: str | None = None,
    on_property: Callable[[str, int, int], None] | None = None,
) -> KindReport:
    """Run the checklist of ``kind`` on the implementation ``cls``; return a :class:`KindReport`.

    Every property registered for the kind (see ``gradcheck list`` and ``docs/checklist.md``) is run on
    Hypothesis-generated cases: constructor arguments over their declared ranges, batch sizes from 1, both
    dtypes, and the kind's value regimes. A failing property is shrunk to a minimal case and reported with a
    one-line reproduction command; the same ``seed`` reproduces the same run.

    Args:
        kind: a registered kind name (e.g. ``"linear"``) or a :class:`~gradcheck.kinds.Kind`.
        cls: the implementation: a NumPy module class, an ``nn.Module`` class or an ``autograd.Function`` class.
        seed: Hypothesis seed (default 0).
        profile: ``dev``, ``ci`` or ``thorough`` (default: ``ci`` when CI is set, else ``dev``).
        max_examples: override the profile's number of examples per property.
        properties: run only these properties (default: all).
        device: ``cpu`` or ``cuda`` for torch kinds.
        label: how the target is named in reports and reproduction commands.
        on_property: progress callback ``(name, index, total)``.

    Returns:
        A :class:`KindReport`; ``report.passed`` is True when no property failed.

    Raises:
        InvalidArgument: unknown kind, property or profile, or an invalid option.

    Example:
        >>> import layers
        >>> check_kind("linear", layers.LinearModule, properties=["forward"]).passed
        True
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    profile = profile or default_profile()
    registry = load()
    names = properties or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise InvalidArgument(f"unknown properties {unknown}; known: {', '.join(registry)}")
    if device not in ("cpu", "cuda"):
        raise InvalidArgument(f"device={device!r}: expected 'cpu' or 'cuda'")
    subject = Subject(k, cls, label or str(getattr(cls, "__qualname__", cls)), device)
    start = time.perf_counter()
    results = []
    with _single_thread():
        for i, name in enumerate(names):
            if on_property:
                on_property(name, i, len(names))
            results.append(run_property(registry[name], subject, seed=seed, profile=profile, max_examples=max_examples))
    return KindReport(
        k.name,
        subject.label,
        seed,
        profile,
        tuple(results),
        time.perf_counter() - start,
        tuple(subject.notes),
    )


@contextlib.contextmanager
def _single_thread() -> Iterator[None]:
    # Cases are tiny: torch's thread pool costs milliseconds per call on them (and far more on a busy machine).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
