"""The kind registry: every kind of layer the checklist knows, declared once."""

from __future__ import annotations

from gradcheck.errors import InvalidArgument
from gradcheck.kinds.base import REGIMES, Case, Kind, make_values

__all__ = ["KINDS", "REGIMES", "Case", "Kind", "get_kind", "make_values", "register"]

KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry (a new kind is one declaration plus its implementation)."""
    if kind.name in KINDS:
        raise InvalidArgument(f"kind {kind.name!r} is already registered; choose another name")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    """The registered kind called ``name``.

    Raises:
        InvalidArgument: no such kind (the message lists the known ones).
    """
    _load_builtin()
    if name not in KINDS:
        raise InvalidArgument(f"unknown kind {name!r}; known kinds: {', '.join(sorted(KINDS))}")
    return KINDS[name]


def _load_builtin() -> None:
    from gradcheck.kinds import declarations  # noqa: F401  (registers on import)
