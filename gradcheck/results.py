"""Result records: what every check returns. Reports and pytest failures are renderings of these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["GradientResult", "Report", "Status"]

Status = Literal["pass", "kink", "fail", "error", "skip"]


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

    @property
    def passed(self) -> bool:
        """True for ``pass``, ``kink`` and ``skip``."""
        return self.status in ("pass", "kink", "skip")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus ``passed``."""
        return {**asdict(self), "passed": self.passed}


@dataclass(frozen=True)
class Report:
    """All gradient results of one :func:`gradcheck.check` call."""

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
        from gradcheck.report.text import render_report

        return render_report(self)
