"""gradcheck: gradient verification for hand-written layers.

Public API (everything else is internal and may change):

* :func:`check` / :func:`assert_gradients`: gradients of a NumPy module, ``torch.nn.Module`` or
  ``torch.autograd.Function`` against finite differences with derived steps and tolerances;
* :func:`check_jacobian`: one closed-form Jacobian (an equation of a derivation) against finite differences;
* :func:`check_kind`: the property checklist of a known kind of layer on Hypothesis-generated cases;
* the records :class:`GradientResult`, :class:`Report` and the exceptions in :mod:`gradcheck.errors`.
"""

from __future__ import annotations

from typing import Any

from gradcheck.api import assert_gradients, check
from gradcheck.engine.jacobian import check_jacobian
from gradcheck.errors import (
    GradcheckError,
    GradientMismatch,
    InvalidArgument,
    InvalidTarget,
    LayerError,
)
from gradcheck.results import GradientResult, Report

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
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
]


def __getattr__(name: str) -> Any:
    # The checklist pulls in Hypothesis and the kind registry; load it on first use only.
    if name == "check_kind":
        from gradcheck.checklist.runner import check_kind

        return check_kind
    raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
