"""gradcheck: gradient verification for hand-written layers.

Public API (everything else is internal and may change):

* :func:`check` / :func:`assert_gradients`: gradients of a NumPy module, ``torch.nn.Module`` or
  ``torch.autograd.Function`` against finite differences with derived steps and tolerances;
* :func:`check_jacobian`: one closed-form Jacobian (an equation of a derivation) against finite differences;
* :func:`check_kind`: the property checklist of a known kind of layer on Hypothesis-generated cases;
* :func:`check_layer`: the checklist of a layer without a kind, inferred from one example call (no oracle needed);
* the records :class:`GradientResult`, :class:`Report`, the exceptions in :mod:`gradcheck.errors` and
  :class:`GradcheckWarning` (a finding that leaves the gradients right; ``strict`` makes it fail).
"""

from __future__ import annotations

from typing import Any

from gradcheck.api import assert_gradients, check
from gradcheck.engine.jacobian import check_jacobian
from gradcheck.errors import (
    GradcheckError,
    GradcheckWarning,
    GradientMismatch,
    InvalidArgument,
    InvalidTarget,
    LayerError,
)
from gradcheck.results import GradientResult, Report

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "GradcheckWarning",
    "GradientMismatch",
    "GradientResult",
    "InvalidArgument",
    "InvalidTarget",
    "LayerError",
    "Report",
    "__version__",
    "assert_gradients",
    "check",
    "check_jacobian",
    "check_kind",
    "check_layer",
]


def __getattr__(name: str) -> Any:
    # The checklist pulls in Hypothesis and the kind registry; load it on first use only.
    if name == "check_kind":
        from gradcheck.checklist.runner import check_kind

        return check_kind
    if name == "check_layer":  # a layer without a kind, from one example (gradcheck.auto)
        from gradcheck.auto import check_layer

        return check_layer
    raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
