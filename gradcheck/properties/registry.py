"""The property registry: every property of the checklist, with what it verifies and which kinds it applies to.

A property is a pure function ``Trial -> Outcome``; it never prints and never raises for a failure of the
layer. The registry order is the checklist order: cheap contract checks first, then gradients, then semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gradcheck.results import Finding, GradientResult, LayerFault, worst_verdict

if TYPE_CHECKING:
    from gradcheck.checklist.trial import Trial
    from gradcheck.kinds import Kind

__all__ = ["PROPERTIES", "Outcome", "Property", "get_property", "prop"]

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


def get_property(name: str) -> Property:
    """The registered property ``name``."""
    load()
    return PROPERTIES[name]


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


def load() -> dict[str, Property]:
    """Import every property module (registration happens on import) and return the registry, in order."""
    from gradcheck.properties import contract, gradients, semantics, side_effects  # noqa: F401

    ranked = sorted(PROPERTIES, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    return {n: PROPERTIES[n] for n in ranked}
