"""The property registry: every property of the checklist, with what it verifies and which kinds it applies to.

A property is a pure function ``Trial -> Outcome``; it never prints and never raises for a failure of the
layer. The registry order (:data:`ORDER`) is the checklist order: cheap contract checks first, then gradients,
then semantics. :func:`gradcheck.properties.load` imports the property modules, which register here on import
(this module imports none of them, so the import graph stays acyclic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gradcheck.results import Finding, GradientResult, LayerFault, worst_verdict

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial
    from gradcheck.kinds import Kind

__all__ = ["ORDER", "PROPERTIES", "Outcome", "OutcomeStatus", "Property", "prop"]

OutcomeStatus = Literal["pass", "warn", "fail", "error", "skip"]


@dataclass(frozen=True)
class Outcome:
    """What one property found on one trial: a verdict and the records behind it (never text to print).

    ``details`` are the comparisons made (passing ones too: their margins are data), ``findings`` the
    non-elementwise findings, ``fault`` the layer's own exception when the property could not finish, and
    ``reason`` the one-line reason of a ``skip`` (or of an internal error of the harness). Renderers in
    :mod:`gradcheck.report` turn an outcome into text, JSON or Markdown.
    """

    status: OutcomeStatus
    message: str = ""  # transitional: free text; to be replaced by records + ``reason``
    details: tuple[GradientResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    fault: LayerFault | None = None
    reason: str = ""

    @property
    def margin(self) -> float:
        """The smallest ``tolerance / difference`` over the comparisons and numeric findings (``inf`` if none)."""
        margins = [r.margin for r in self.details if r.status in ("pass", "kink", "warn", "fail")]
        margins += [f.tolerance / f.error for f in self.findings if f.error and f.tolerance is not None]
        return min(margins, default=float("inf"))

    @property
    def problems(self) -> tuple[GradientResult, ...]:
        """The comparisons that did not pass (the ones a report shows in full)."""
        return tuple(r for r in self.details if r.status in ("warn", "fail", "error"))

    @staticmethod
    def from_records(details: tuple[GradientResult, ...] = (), findings: tuple[Finding, ...] = ()) -> Outcome:
        """The verdict of ``details`` and ``findings`` together: the most severe status, ``pass`` if none."""
        status = worst_verdict([*(r.status for r in details), *(f.status for f in findings)], empty="pass")
        return Outcome(status, details=tuple(details), findings=tuple(findings))

    @staticmethod
    def from_problems(problems: list[str], details: tuple[GradientResult, ...] = ()) -> Outcome:
        """Transitional: ``pass`` when ``problems`` is empty, else ``fail`` with one problem per line."""
        return Outcome("fail", "\n".join(problems), details) if problems else Outcome("pass", "", details)


@dataclass(frozen=True)
class Property:
    """A named check of the checklist (the fields feed ``docs/checklist.md``)."""

    name: str
    title: str
    verifies: str
    guards: str
    failure_means: str
    fn: Callable[[Trial], Outcome]
    applies: Callable[[Kind], str | None] = field(default=lambda kind: None)  # None, or the reason to skip
    cost: int = 1  # relative cost: expensive properties get fewer examples


PROPERTIES: dict[str, Property] = {}


def prop(
    name: str,
    *,
    title: str,
    verifies: str,
    guards: str,
    failure_means: str,
    applies: Callable[[Kind], str | None] | None = None,
    cost: int = 1,
) -> Callable[[Callable[[Trial], Outcome]], Callable[[Trial], Outcome]]:
    """Register the decorated function as property ``name``."""

    def register(fn: Callable[[Trial], Outcome]) -> Callable[[Trial], Outcome]:
        PROPERTIES[name] = Property(
            name, title, verifies, guards, failure_means, fn, applies or (lambda kind: None), cost
        )
        return fn

    return register


#: The checklist order: contract first, then gradients, side effects, semantics, and the optional extras.
ORDER = (
    "interface",
    "forward",
    "finite",
    "input_gradient",
    "param_gradients",
    "autograd_agreement",
    "upstream_linearity",
    "purity",
    "state",
    "batch_semantics",
    "invariants",
    "dtype_parity",
    "module_contract",
    "double_backward",
    "device_parity",
    "trainability",
)
