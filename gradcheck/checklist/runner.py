"""Run the checklist: every applicable property of a kind on explicit edge cases, then Hypothesis-generated cases;
failures shrunk to a minimal case, every outcome kept as records (rendered by :mod:`gradcheck.report.checklist`).

Verdict levels, per property and per run: ``pass``, ``warn`` (a finding that leaves the gradients right: the run
still passes unless ``strict``), ``fail`` (a wrong gradient or a broken contract), ``error`` (the layer raised, or
the harness did) and ``skip`` (the property does not apply, or there was nothing to check).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import given, settings
from hypothesis import seed as hypothesis_seed

from gradcheck.checklist.profiles import default_profile, examples_for, profile_settings
from gradcheck.checklist.trial import Subject, Trial
from gradcheck.errors import GradcheckError, InvalidArgument, LayerError
from gradcheck.kinds import Case, Kind, get_kind
from gradcheck.properties import load
from gradcheck.properties.registry import Outcome, Property
from gradcheck.results import Finding, LayerFault, Verdict, worst_verdict
from gradcheck.view.base import layer_fault, user_frame

__all__ = [
    "GRADIENT_PROPERTIES",
    "Interrupted",
    "KindReport",
    "OnCase",
    "PropertyResult",
    "check_kind",
    "planned_cases",
    "run_property",
]

#: Progress callback of :func:`check_kind`: ``on_case(property, done, total)`` after every case, where ``done``
#: and ``total`` count the cases of the whole call (``total`` is :func:`planned_cases`; ``done`` jumps to the end
#: of a property's share when it stops early, and never passes ``total``).
OnCase = Callable[[str, int, int], None]

#: The properties that check gradients: "passed" means every gradient was checked, so one of them skipped for a
#: reason other than "does not apply to the kind" makes the run a warning at least.
GRADIENT_PROPERTIES = ("input_gradient", "param_gradients")


@dataclass(frozen=True)
class PropertyResult:
    """The verdict of one property over all its cases, with the records of the decisive case.

    ``outcome`` is the :class:`~gradcheck.properties.registry.Outcome` of the decisive case: the shrunk failing
    case for ``fail``/``error``, the first case that warned for ``warn``, ``None`` for ``pass`` and for a skip
    decided before any case ran (``reason`` says why). ``margin`` is the smallest ``tolerance / difference`` seen
    over every case that was run (``inf`` when nothing numeric was compared); ``contrast`` lists what a single
    change to the minimal case would make pass ("only in float32 ...").
    """

    name: str
    title: str
    status: Verdict
    outcome: Outcome | None = None
    reason: str = ""
    example: str | None = None
    reproduce: str | None = None
    captured: str = ""
    n_examples: int = 0
    seconds: float = 0.0
    case: Case | None = None
    margin: float = float("inf")
    contrast: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """Transitional: the free text of the decisive outcome, else the reason (render records with
        :func:`gradcheck.report.checklist.render_outcome` instead)."""
        return (self.outcome.message if self.outcome else "") or self.reason

    @property
    def checked(self) -> bool:
        """True unless the property was skipped."""
        return self.status != "skip"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields: the verdict, the smallest margin and, unless it passed, the records and the example."""
        d: dict[str, Any] = {k: getattr(self, k) for k in ("name", "title", "status", "n_examples")}
        d["seconds"] = self.seconds
        d["margin"] = None if self.margin == float("inf") else self.margin
        if self.reason:
            d["reason"] = self.reason
        if self.status in ("pass", "skip"):
            return d
        o = self.outcome
        if o is not None:
            d["details"] = [r.to_dict() for r in o.details]
            d["findings"] = [f.to_dict() for f in o.findings]
            d["fault"] = o.fault.to_dict() if o.fault else None
        d.update(example=self.example, reproduce=self.reproduce, contrast=list(self.contrast))
        if self.captured:
            d["captured_output"] = self.captured
        return d


@dataclass(frozen=True)
class KindReport:
    """The checklist's result for one implementation of one kind.

    ``verdict`` is the most severe property verdict; ``passed`` is True when nothing failed or errored and, under
    ``strict``, nothing warned either. An ``interrupted`` report (Ctrl-C) lists the properties finished before
    the interruption and never passes.
    """

    kind: str
    target: str
    seed: int
    profile: str
    properties: tuple[PropertyResult, ...]
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    strict: bool = False
    interrupted: bool = False

    @property
    def verdict(self) -> Verdict:
        """The most severe property verdict (``skip`` when every property was skipped)."""
        return worst_verdict(p.status for p in self.properties)

    @property
    def passed(self) -> bool:
        """True when no property failed or errored (and, when ``strict``, none warned)."""
        allowed = ("pass", "skip") if self.strict else ("pass", "skip", "warn")
        return not self.interrupted and self.verdict in allowed

    @property
    def counts(self) -> dict[str, int]:
        """How many properties got each verdict (``pass``, ``warn``, ``fail``, ``error``, ``skip``)."""
        counts = dict.fromkeys(("pass", "warn", "fail", "error", "skip"), 0)
        for p in self.properties:
            counts[p.status] += 1
        return counts

    @property
    def margin(self) -> float:
        """The smallest margin (``tolerance / difference``) over the properties that passed or warned."""
        return min((p.margin for p in self.properties if p.status in ("pass", "warn")), default=float("inf"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``gradcheck check --format json`` (the records as numbers, no rendered text)."""
        margin = self.margin
        return {
            "passed": self.passed,
            "verdict": self.verdict,
            "strict": self.strict,
            "interrupted": self.interrupted,
            "kind": self.kind,
            "target": self.target,
            "seed": self.seed,
            "profile": self.profile,
            "seconds": round(self.seconds, 3),
            "counts": self.counts,
            "margin": None if margin == float("inf") else margin,
            "notes": list(self.notes),
            "properties": [p.to_dict() for p in self.properties],
        }


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`check_kind`; ``report`` is the partial :class:`KindReport` (``interrupted=True``)."""

    def __init__(self, report: KindReport):
        super().__init__(f"interrupted after {len(report.properties)} properties")
        self.report = report


class _Stop(Exception):
    def __init__(self, outcome: Outcome, case: Case):
        self.outcome, self.case = outcome, case


# ------------------------------------------------------------------------------------------------ one evaluation


def _evaluate(prop: Property, trial: Trial) -> Outcome:
    """The property's outcome on one trial; whatever the user's code raises becomes an ``error`` of the layer."""
    try:
        return prop.fn(trial)
    except KeyboardInterrupt:
        raise
    except LayerError as exc:
        fault = getattr(exc, "fault", None)
        return Outcome("error", str(exc), fault=fault, reason="" if fault else str(exc))
    except GradcheckError as exc:
        return Outcome("error", reason=f"{type(exc).__name__}: {exc}")
    except BaseException as exc:  # SystemExit too: the layer's code must not end or fool the harness
        fault = _fault_in_user_code(exc, trial.subject)
        if fault is not None:
            return Outcome("error", fault=fault)
        return Outcome("error", reason=f"internal error in property {prop.name!r}: {_innermost(exc)}")


def _fault_in_user_code(exc: BaseException, subject: Subject) -> LayerFault | None:
    """The exception as the layer's, located at its innermost frame in the user's code; None if there is none."""
    frame = user_frame(exc.__traceback__)
    if frame is None:
        return None
    return layer_fault(exc, str(getattr(subject.target, "__name__", subject.label)), frame.name)


def _innermost(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {os.path.basename(where[0].filename)}:{where[0].lineno}" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


# ------------------------------------------------------------------------------------------------- one property


def _reproduce(kind: str, target: str, seed: int, prop: str, profile: str) -> str:
    return f"gradcheck check {kind} {target} --seed {seed} --profile {profile} --property {prop}"


def explicit_cases(kind: Kind, seed: int = 0) -> list[Case]:
    """The kind's explicit cases (edge cases, one per value regime and dtype), run first on every seed."""
    return list(kind.explicit_cases(seed))


def planned_cases(
    kind: str | Kind, *, profile: str | None = None, max_examples: int | None = None, properties: Sequence[str] = ()
) -> int:
    """How many cases :func:`check_kind` plans for these arguments (the ``total`` of its ``on_case`` callback)."""
    k = get_kind(kind) if isinstance(kind, str) else kind
    registry = load()
    names = list(properties) or list(registry)
    profile = profile or default_profile()
    return sum(_share(registry[n], k, profile, max_examples) for n in names if n in registry)


def _share(prop: Property, kind: Kind, profile: str, max_examples: int | None) -> int:
    """The cases planned for one property: the explicit ones plus the profile's examples (0 if it does not apply)."""
    if prop.applies(kind):
        return 0
    return len(explicit_cases(kind)) + examples_for(profile, prop.cost, max_examples)


@dataclass
class _Search:
    """What the cases of one property have shown so far."""

    n: int = 0
    margin: float = float("inf")
    warned: tuple[Outcome, Case] | None = None
    last_bad: tuple[Outcome, Case] | None = None
    on_case: Callable[[], None] = lambda: None

    def see(self, outcome: Outcome, case: Case) -> None:
        """Record one case's outcome; raise :class:`_Stop` on a verdict that ends the search."""
        self.n += 1
        self.on_case()
        self.margin = min(self.margin, outcome.margin)
        if outcome.status == "warn" and self.warned is None:
            self.warned = (outcome, case)
        if outcome.status in ("fail", "error"):
            self.last_bad = (outcome, case)
        if outcome.status in ("fail", "error", "skip"):
            raise _Stop(outcome, case)


def run_property(
    prop: Property,
    subject: Subject,
    *,
    seed: int,
    profile: str,
    max_examples: int | None = None,
    on_case: Callable[[], None] | None = None,
) -> PropertyResult:
    """Run ``prop`` on the kind's explicit cases, then on generated ones; a failure is shrunk by Hypothesis.

    The explicit cases do not count towards the profile's number of examples. The first ``fail``, ``error`` or
    ``skip`` ends the search (a generated failure is shrunk first); a ``warn`` is recorded and the search goes on,
    since a failure outranks it.
    """
    skip = prop.applies(subject.kind)
    if skip:
        return PropertyResult(prop.name, prop.title, "skip", reason=skip)
    n = examples_for(profile, prop.cost, max_examples)
    search = _Search(on_case=on_case or (lambda: None))
    out = io.StringIO()

    def body(case: Case) -> None:
        search.see(_at_boundary(prop, case, _evaluate(prop, Trial(subject, case))), case)

    test = settings(profile_settings(profile), max_examples=n)(
        hypothesis_seed(seed)(given(subject.kind.case_strategy())(body))
    )
    start = time.perf_counter()
    explicit_bad: _Stop | None = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            explicit_bad = _run_explicit(subject.kind, seed, body)
            test()
    except _Stop as stop:
        return _finish(prop, subject, stop.outcome, stop.case, seed, profile, out, search, start)
    except Exception as exc:  # Hypothesis' own errors (flaky failures among them)
        if search.last_bad is not None:
            outcome, case = search.last_bad
            return _finish(prop, subject, outcome, case, seed, profile, out, search, start)
        error = Outcome("error", reason=f"internal error in property {prop.name!r}: {_innermost(exc)}")
        return PropertyResult(
            prop.name, prop.title, "error", error, error.reason, captured=out.getvalue(), seconds=_since(start)
        )
    if explicit_bad is not None:  # the generated cases found nothing smaller: the edge case is the example
        return _finish(prop, subject, explicit_bad.outcome, explicit_bad.case, seed, profile, out, search, start)
    if search.warned is not None:
        outcome, case = search.warned
        return _finish(prop, subject, outcome, case, seed, profile, out, search, start)
    return PropertyResult(
        prop.name, prop.title, "pass", n_examples=search.n, seconds=_since(start), margin=search.margin
    )


#: Properties whose findings do not depend on the values being inside the domain: an in-place write, stale state or
#: a wrong shape is a bug at the boundary as anywhere else.
VALUE_FREE = ("interface", "purity", "state", "module_contract")


def _at_boundary(prop: Property, case: Case, outcome: Outcome) -> Outcome:
    """A value failure on a case at the closed boundary of the kind's domain is a warning, not a failure.

    The contract is the open domain (probabilities in (0, 1] for ``log x``): a layer exact there but NaN at an
    exact 0 computes the right function and the right gradients wherever they are defined; that it will break on
    softmax underflow is worth saying, not a wrong derivation. Side effects stay failures.
    """
    if not case.boundary or outcome.status not in ("fail", "error") or prop.name in VALUE_FREE:
        return outcome
    seen = outcome.fault.message if outcome.fault else _first_problem(outcome)
    finding = Finding(
        check=f"{prop.name} at the domain boundary",
        status="warn",
        observed=f"fails only at {case.boundary.split(' (')[0]}" + (f": {seen}" if seen else ""),
        expected="the layer to hold at the boundary too",
        location=(case.kind, prop.name),
        explanation=case.boundary,
    )
    return Outcome("warn", findings=(finding,))


def _first_problem(outcome: Outcome) -> str:
    for f in outcome.findings:
        if f.status != "warn":
            return f.observed
    for r in outcome.details:
        if r.status in ("fail", "error"):
            return r.message or f"{' → '.join(r.location)}: {r.analytic} against {r.against} {r.numeric}"
    return outcome.reason


def _run_explicit(kind: Kind, seed: int, body: Callable[[Case], None]) -> _Stop | None:
    """Run the explicit cases; the first that fails or errors is returned, to be replaced by a shrunk generated
    failure if the random phase finds one (a skip ends the property at once)."""
    for case in explicit_cases(kind, seed):
        try:
            body(case)
        except _Stop as stop:
            if stop.outcome.status == "skip":
                raise
            return stop
    return None


def _since(start: float) -> float:
    return time.perf_counter() - start


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


def differential_diagnosis(prop: Property, subject: Subject, case: Case) -> tuple[str, ...]:
    """Which single changes to the shrunk case make the property pass: "only in float32", "only at batch size 1",
    "only for large values"… (Hypothesis has already minimised sizes and arguments)."""
    return tuple(
        label for label, variant in _variants(case) if _evaluate(prop, Trial(subject, variant)).status == "pass"
    )


def _unchecked_gradient(prop: Property, outcome: Outcome) -> Outcome:
    # "passed" means every gradient was checked: a gradient property that found nothing to compare warns.
    reason = outcome.reason or outcome.message or "nothing was compared"
    finding = Finding(
        prop.name,
        "warn",
        f"not checked: {reason}",
        expected="a gradient to compare with finite differences",
        explanation="the run cannot vouch for this gradient",
    )
    return replace(outcome, status="warn", findings=(*outcome.findings, finding), reason=reason)


def _finish(
    prop: Property,
    subject: Subject,
    outcome: Outcome,
    case: Case,
    seed: int,
    profile: str,
    out: io.StringIO,
    search: _Search,
    start: float,
) -> PropertyResult:
    if outcome.status == "skip" and prop.name in GRADIENT_PROPERTIES:
        outcome = _unchecked_gradient(prop, outcome)
    if outcome.status == "skip":
        reason = outcome.reason or outcome.message
        return PropertyResult(
            prop.name, prop.title, "skip", outcome, reason, n_examples=search.n, seconds=_since(start)
        )
    contrast: tuple[str, ...] = ()
    if outcome.status == "fail":
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            contrast = differential_diagnosis(prop, subject, case)
    return PropertyResult(
        prop.name,
        prop.title,
        outcome.status,
        outcome,
        outcome.reason,
        example=f"{subject.kind.name}{case.describe()}",
        reproduce=_reproduce(subject.kind.name, subject.label, seed, prop.name, profile),
        captured=out.getvalue(),
        n_examples=search.n,
        seconds=_since(start),
        case=case,
        margin=search.margin,
        contrast=contrast,
    )


# ------------------------------------------------------------------------------------------------------ the run


def check_kind(
    kind: str | Kind,
    cls: Any,
    *,
    seed: int = 0,
    profile: str | None = None,
    max_examples: int | None = None,
    properties: Sequence[str] | None = None,
    device: str = "cpu",
    label: str | None = None,
    strict: bool = False,
    on_property: Callable[[str, int, int], None] | None = None,
    on_case: OnCase | None = None,
) -> KindReport:
    """Run the checklist of ``kind`` on the implementation ``cls``; return a :class:`KindReport`.

    Every property registered for the kind (see ``gradcheck list`` and ``docs/checklist.md``) is run on the
    kind's explicit edge cases, then on Hypothesis-generated cases: constructor arguments over their declared
    ranges, batch sizes from 1, both dtypes, and the kind's value regimes. A failing property is shrunk to a
    minimal case and reported with a one-line reproduction command; the same ``seed`` reproduces the same run.
    Each property's verdict is ``pass``, ``warn`` (the gradients are right but something deserves attention, such
    as a NumPy layer that promotes float32 to float64), ``fail``, ``error`` (the layer raised) or ``skip``.

    Args:
        kind: a registered kind name (e.g. ``"linear"``) or a :class:`~gradcheck.kinds.Kind`.
        cls: the implementation: a NumPy module class, an ``nn.Module`` class or an ``autograd.Function`` class.
        seed: Hypothesis seed (default 0).
        profile: ``dev``, ``ci`` or ``thorough`` (default: ``ci`` when CI is set, else ``dev``).
        max_examples: override the profile's number of generated examples per property.
        properties: run only these properties (default: all).
        device: ``cpu`` or ``cuda`` for torch kinds.
        label: how the target is named in reports and reproduction commands.
        strict: warnings fail the run (``report.passed`` is False when any property warned); default False.
        on_property: progress callback ``(name, index, total)`` before each property.
        on_case: progress callback ``(name, done, total)`` after each case (see :data:`OnCase`).

    Returns:
        A :class:`KindReport`; ``report.passed`` is True when no property failed or errored (nor, when
        ``strict``, warned).

    Raises:
        InvalidArgument: unknown kind, property or profile, or an invalid option.
        Interrupted: Ctrl-C; its ``report`` holds the properties finished so far (a ``KeyboardInterrupt``).

    Example:
        >>> import layers
        >>> check_kind("linear", layers.LinearModule, properties=["forward"]).passed
        True
    """
    k = get_kind(kind) if isinstance(kind, str) else kind
    profile = profile or default_profile()
    registry = load()
    names = list(properties) if properties else list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise InvalidArgument(f"unknown properties {unknown}; known: {', '.join(registry)}")
    if device not in ("cpu", "cuda"):
        raise InvalidArgument(f"device={device!r}: expected 'cpu' or 'cuda'")
    examples_for(profile, 1, max_examples)  # validates profile and max_examples before anything runs
    subject = Subject(k, cls, label or str(getattr(cls, "__qualname__", cls)), device)
    total = planned_cases(k, profile=profile, max_examples=max_examples, properties=names)
    progress = _Progress(on_case, total)
    start = time.perf_counter()
    results: list[PropertyResult] = []

    def report(interrupted: bool = False) -> KindReport:
        props = tuple(_strictly(p) if strict else p for p in results)
        notes = tuple(subject.notes)
        return KindReport(k.name, subject.label, seed, profile, props, _since(start), notes, strict, interrupted)

    try:
        with single_thread():
            for i, name in enumerate(names):
                if on_property:
                    on_property(name, i, len(names))
                prop = registry[name]
                tick = progress.property(name, _share(prop, k, profile, max_examples))
                results.append(
                    run_property(prop, subject, seed=seed, profile=profile, max_examples=max_examples, on_case=tick)
                )
                progress.done_property()
    except KeyboardInterrupt as exc:
        raise Interrupted(report(interrupted=True)) from exc
    return report()


def _strictly(p: PropertyResult) -> PropertyResult:
    # Under strict a warning fails the run, so the command that reproduces it must be strict too.
    if p.status != "warn" or not p.reproduce:
        return p
    return replace(p, reproduce=f"{p.reproduce} --strict")


class _Progress:
    """Counts cases for the ``on_case`` callback: each property owns a share of the planned total."""

    def __init__(self, on_case: OnCase | None, total: int):
        self.on_case, self.total, self.done, self.end, self.name = on_case, total, 0, 0, ""

    def property(self, name: str, share: int) -> Callable[[], None]:
        self.name, self.end = name, min(self.total, self.done + share)
        return self.tick

    def tick(self) -> None:
        if self.on_case is not None and self.done < self.end:  # shrinking runs past the share: the bar waits
            self.done += 1
            self.on_case(self.name, self.done, self.total)

    def done_property(self) -> None:
        if self.on_case is not None and self.done < self.end:
            self.done = self.end
            self.on_case(self.name, self.done, self.total)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """torch on one thread while the block runs (restored after)."""
    # Cases are tiny: torch's thread pool costs milliseconds per call on them (and far more on a busy machine).
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
