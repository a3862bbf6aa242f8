"""The table of kinds: :data:`KINDS` and :func:`register` (declarations register here; nothing here loads them)."""

from __future__ import annotations

from gradcheck.errors import InvalidArgument
from gradcheck.kinds.base import Kind

__all__ = ["KINDS", "register"]

KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` to the registry (a new kind is one declaration plus its implementation)."""
    if kind.name in KINDS:
        raise InvalidArgument(f"kind {kind.name!r} is already registered; choose another name")
    KINDS[kind.name] = kind
    return kind
