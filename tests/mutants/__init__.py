"""Implementations the checklist must judge: realistic wrong variants and unusual but correct ones.

Each family module (``activations``, ``linear``, ``loss``, ``norm``, ``conv``, ``mlp``, ``functions``) lists its
variants in ``VARIANTS``: a :class:`Variant` names the kind, the class, whether it is correct, and for a wrong
one the properties expected to catch it (at least one of them must *fail* on the layer's values; a crash counts
only for a variant whose bug is a crash, marked ``crash=True``) with the mistake in one line. A correct variant
may warn but never fail; ``warns`` names the properties it must warn in (a NumPy dtype promotion, a stabilising
epsilon). Every wrong variant is the reference layer with one realistic mistake, as students write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FAMILIES", "Variant", "all_variants", "correct", "wrong"]

FAMILIES = ("activations", "linear", "loss", "norm", "conv", "mlp", "functions", "edge_cases")


@dataclass(frozen=True)
class Variant:
    """A layer for the checklist: ``catches`` is empty for a correct one."""

    kind: str
    cls: Any
    catches: tuple[str, ...]
    why: str
    warns: tuple[str, ...] = ()  # correct variants: properties that must warn
    crash: bool = False  # wrong variants: the bug is a crash, so an error of a catching property counts

    @property
    def correct(self) -> bool:
        """True for an unusual but correct implementation (the checklist must pass it)."""
        return not self.catches

    @property
    def id(self) -> str:
        """``kind-ClassName``, the pytest id."""
        return f"{self.kind}-{self.cls.__name__}"


def wrong(kind: str, cls: Any, *catches: str, why: str, crash: bool = False) -> Variant:
    """A wrong variant of ``kind``; one of ``catches`` (property names) must fail on it (or, with ``crash``, error)."""
    assert catches, "a wrong variant names the properties that catch it"
    return Variant(kind, cls, tuple(catches), why, crash=crash)


def correct(kind: str, cls: Any, why: str, warns: tuple[str, ...] = ()) -> Variant:
    """An unusual but correct variant of ``kind``: no property may fail; those in ``warns`` must warn."""
    return Variant(kind, cls, (), why, warns=warns)


def all_variants() -> list[Variant]:
    """Every variant of every family module."""
    import importlib

    out: list[Variant] = []
    for family in FAMILIES:
        out.extend(importlib.import_module(f"{__name__}.{family}").VARIANTS)
    return out
