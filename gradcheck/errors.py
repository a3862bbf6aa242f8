"""The harness's exceptions: mismatches are ``AssertionError`` subclasses, misuse is ``TypeError``/``ValueError``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradcheck.results import LayerFault

__all__ = ["GradcheckError", "GradcheckWarning", "GradientMismatch", "InvalidArgument", "InvalidTarget", "LayerError"]


class GradcheckError(Exception):
    """Base class of every exception the harness raises on purpose."""


class GradientMismatch(GradcheckError, AssertionError):
    """An analytic gradient (or Jacobian) disagrees with the numerical reference."""


class InvalidArgument(GradcheckError, ValueError, TypeError):
    """An option passed to the harness is invalid; the message names the rule and the fix."""


class InvalidTarget(GradcheckError, ValueError):
    """A layer or target cannot be loaded, does not follow any supported protocol, or does not fit its kind."""


class LayerError(GradcheckError, RuntimeError):
    """The checked layer raised or returned something unusable while being called by the harness.

    ``fault`` is the record of it (:class:`~gradcheck.results.LayerFault`: the layer, the call, the exception, and
    the file, line and source of the innermost frame in the user's code), or ``None`` where there is none to give.
    """

    def __init__(self, message: str, fault: LayerFault | None = None) -> None:
        super().__init__(message)
        self.fault = fault


class GradcheckWarning(UserWarning):
    """A finding that leaves the gradients right (e.g. float32 promoted to float64); ``--strict`` makes it fail."""
