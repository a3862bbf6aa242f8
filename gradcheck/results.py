"""Result records: what every check returns. Reports and pytest failures are renderings of these."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

__all__ = ["Finding", "GradientResult", "LayerFault", "Report", "Status", "Verdict", "worst_verdict"]

#: The status of one comparison record. ``kink`` is a pass at a non-differentiable point.
Status = Literal["pass", "kink", "warn", "fail", "error", "skip"]
#: The verdict of a property or a run: ``warn`` is a finding that leaves the gradients right.
Verdict = Literal["pass", "warn", "fail", "error", "skip"]

#: Severity order of verdicts: the verdict of a collection is its most severe member.
SEVERITY: dict[str, int] = {"skip": 0, "pass": 1, "kink": 1, "warn": 2, "fail": 3, "error": 4}


def worst_verdict(statuses: Iterable[str], empty: Verdict = "skip") -> Verdict:
    """The most severe of ``statuses`` as a verdict (``kink`` counts as ``pass``); ``empty`` when there are none."""
    found = [s for s in statuses]
    if not found:
        return empty
    worst = max(found, key=lambda s: SEVERITY[s])
    return "pass" if worst == "kink" else worst  # type: ignore[return-value]


@dataclass(frozen=True)
class GradientResult:
    """The comparison of one analytic gradient (or Jacobian) with its numerical reference.

    ``status`` is ``pass``, ``kink`` (passed, but a non-differentiable point lay within the step and the analytic
    value was accepted because it lies between the one-sided slopes), ``fail``, ``error`` (the layer raised or
    returned something unusable; see ``message``) or ``skip`` (nothing to compare; see ``message``).
    Errors are in the units of the gradient; ``worst_index`` indexes the argument (elementwise and Jacobian modes)
    or is ``None`` (directional mode, unless the failing element was localised by bisection).
    """

    location: tuple[str, ...]
    status: Status
    mode: str = ""
    n_checked: int = 0
    n_mismatched: int = 0
    n_kinks: int = 0
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    worst_index: tuple[int, ...] | None = None
    analytic: float | None = None
    numeric: float | None = None
    tolerance: float = 0.0
    step: float = 0.0
    n_evals: int = 0
    seed: int | None = None
    shape: tuple[int, ...] = ()
    dtype: str = ""
    eval_dtype: str = ""
    device: str = "cpu"
    message: str = ""
    diagnosis: str = ""
    #: What the values are: ``gradient`` (a VJP) or ``output`` (a forward value, an identity's two sides).
    compared: str = "gradient"
    #: What the analytic value was compared with: ``finite differences``, ``PyTorch reference``,
    #: ``float64 run``, ``fresh instance``... (renderers say "reference" instead of "numeric" unless it is FD).
    against: str = "finite differences"
    #: For an ``error``: the layer's exception as a record, when the layer raised (renderers show it once).
    fault: LayerFault | None = None

    @property
    def passed(self) -> bool:
        """True for ``pass``, ``kink``, ``warn`` and ``skip``."""
        return self.status in ("pass", "kink", "warn", "skip")

    @property
    def margin(self) -> float:
        """``tolerance / greatest difference`` at the worst element (``inf`` when they agree exactly)."""
        # The worst element is the one with the largest difference relative to its own tolerance: its difference,
        # not the greatest one elsewhere (which has a tolerance of its own), is what the margin divides.
        err = self.max_abs_err
        if self.analytic is not None and self.numeric is not None:
            err = abs(self.analytic - self.numeric) if math.isfinite(self.analytic - self.numeric) else math.inf
        if err <= 0 or not self.tolerance:
            return float("inf")
        return self.tolerance / err

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``passed`` and ``margin``."""
        margin = self.margin
        return {**asdict(self), "passed": self.passed, "margin": None if margin == float("inf") else margin}


@dataclass(frozen=True)
class Finding:
    """A finding that is not an elementwise comparison: a wrong dtype, an in-place write, a violated identity.

    ``observed`` is one factual line (what was seen), ``expected`` what the contract asks; ``error`` and
    ``tolerance`` carry the numbers when there are any. ``explanation`` is the harness's best guess at the cause
    ("an epsilon of about 1e-10 added to the probabilities?"). Renderers in :mod:`gradcheck.report` make the text.
    """

    check: str
    status: Literal["warn", "fail"]
    observed: str
    expected: str = ""
    error: float | None = None
    tolerance: float | None = None
    location: tuple[str, ...] = ()
    explanation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class LayerFault:
    """An exception raised by the checked layer's own code, located in the user's file.

    ``file``/``line``/``source`` are those of the innermost frame in the user's code (not the harness, not
    NumPy or torch); ``call`` is what the harness was calling (``forward``, ``backward``, ``__init__``...).
    """

    layer: str
    call: str
    exc_type: str
    message: str
    file: str | None = None
    line: int | None = None
    source: str | None = None
    context: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        """Identity of the fault for "said once": the same exception at the same line is one fault."""
        return (self.exc_type, self.message, self.file, self.line)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """All gradient results of one :func:`gradcheck.check` call."""

    #: How ``str(report)`` renders: :mod:`gradcheck.report.text` installs the harness's template when imported
    #: (the public API imports it). Records never import their renderers, so the import graph stays acyclic.
    text_renderer: ClassVar[Callable[[Report], str] | None] = None

    target: str
    results: tuple[GradientResult, ...]
    seed: int
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every result passed (kinks and skips included)."""
        return all(r.passed for r in self.results)

    @property
    def n_evals(self) -> int:
        """Function evaluations used by the finite differences, over all results."""
        return sum(r.n_evals for r in self.results)

    @property
    def failures(self) -> tuple[GradientResult, ...]:
        """The results that did not pass."""
        return tuple(r for r in self.results if not r.passed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "target": self.target,
            "passed": self.passed,
            "seed": self.seed,
            "n_evals": self.n_evals,
            "options": self.options,
            "results": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        if Report.text_renderer is None:  # only when gradcheck.report.text was never imported
            verdict = "passed" if self.passed else "FAILED"
            return f"{self.target}: gradients {verdict} ({len(self.results)} results, seed {self.seed})"
        return Report.text_renderer(self)
