"""Check any layer from one example: no kind to declare, no oracle needed.

:func:`check_layer` infers a :class:`~gradcheck.kinds.Kind` by probing the layer at an example call
(:func:`infer`) and runs every property of the checklist that needs no PyTorch oracle; with ``reference=`` the
oracle's properties run too.
"""

from __future__ import annotations

from gradcheck.auto.check import check_layer
from gradcheck.auto.infer import AutoKind, Inferred, NoOracle, infer

__all__ = ["AutoKind", "Inferred", "NoOracle", "check_layer", "infer"]
