"""The checklist's properties: small pure checks of a trial, each returning an :class:`~.registry.Outcome`.

:func:`load` imports the property modules (each registers its properties in :mod:`gradcheck.properties.registry`
on import) and returns the registry in checklist order.
"""

from __future__ import annotations

from gradcheck.errors import InvalidArgument
from gradcheck.properties.registry import ORDER, PROPERTIES, Property

__all__ = ["get_property", "load"]


def load() -> dict[str, Property]:
    """Import every property module (registration happens on import) and return the registry, in order."""
    from gradcheck.properties import contract, gradients, semantics, side_effects  # noqa: F401

    ranked = sorted(PROPERTIES, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
    return {n: PROPERTIES[n] for n in ranked}


def get_property(name: str) -> Property:
    """The registered property ``name``.

    Raises:
        InvalidArgument: no such property (the message lists the known ones).
    """
    registry = load()
    if name not in registry:
        raise InvalidArgument(f"unknown property {name!r}; known: {', '.join(registry)}")
    return registry[name]
