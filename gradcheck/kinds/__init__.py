"""The kind registry: every kind of layer the checklist knows, declared once.

The table lives in :mod:`gradcheck.kinds.registry` so that :mod:`gradcheck.kinds.declarations` can register into
it without importing this package, which loads the declarations: the import graph stays acyclic.
"""

from __future__ import annotations

from gradcheck.errors import InvalidArgument
from gradcheck.kinds.base import REGIMES, Case, Kind, make_values
from gradcheck.kinds.registry import KINDS, register

__all__ = ["KINDS", "REGIMES", "Case", "Kind", "get_kind", "make_values", "register"]


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
