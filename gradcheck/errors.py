"""The harness's exceptions: mismatches are ``AssertionError`` subclasses, misuse is ``TypeError``/``ValueError``."""

from __future__ import annotations

__all__ = ["GradcheckError", "GradientMismatch", "InvalidArgument", "InvalidTarget", "LayerError"]


class GradcheckError(Exception):
    """Base class of every exception the harness raises on purpose."""


class GradientMismatch(GradcheckError, AssertionError):
    """An analytic gradient (or Jacobian) disagrees with the numerical reference."""


class InvalidArgument(GradcheckError, ValueError, TypeError):
    """An option passed to the harness is invalid; the message names the rule and the fix."""


class InvalidTarget(GradcheckError, ValueError):
    """A layer or target cannot be loaded or does not follow any supported protocol."""


class LayerError(GradcheckError, RuntimeError):
    """The checked layer raised or returned something unusable while being called by the harness."""
