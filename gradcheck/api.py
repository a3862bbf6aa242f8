"""The public entry points: :func:`check`, :func:`assert_gradients` and :func:`check_jacobian`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gradcheck.errors import GradientMismatch
from gradcheck.report.text import render_failures
from gradcheck.results import Report
from gradcheck.verify import check_view, validate_options
from gradcheck.view import adapt

__all__ = ["assert_gradients", "check"]


def check(
    layer: Any,
    *inputs: Any,
    wrt: Iterable[str] | None = None,
    mode: str = "auto",
    n_directions: int = 8,
    max_elementwise: int = 64,
    seed: int = 0,
    device: str | None = None,
    positive: Iterable[str] = (),
) -> Report:
    r"""Check every gradient of ``layer`` at ``inputs`` against finite differences; return a :class:`Report`.

    For each input and parameter ``x`` the analytic vector-Jacobian product ``vjp(c) = Jᵀc`` of the layer is
    compared with central differences of ``t ↦ ⟨c, f(x + t·d)⟩``:

    * the step along element ``i`` is ``t·max(|x_i|, rms(x))`` with ``t = ε^(1/3)`` of the dtype the differences
      are computed in (float64 for a dtype-generic layer, even when it is checked in float32);
    * Richardson extrapolation of the steps ``t`` and ``t/2`` gives the value and an error estimate; a step that
      is not converged, or straddles a kink, is divided by 8 (up to 4 times);
    * the tolerance is ``2·(estimate + κ·ε_eval·|f|/t) + κ·ε_layer·(magnitude of the analytic terms)``: derived,
      not tuned (see :mod:`gradcheck.engine.tolerances`);
    * at a kink (one-sided slopes that disagree) any value between the one-sided slopes is accepted (``kink``).

    ``mode="auto"`` checks every element (``4·n`` evaluations, localises the worst element) when
    ``x.size <= max_elementwise``, else ``n_directions`` random ±1 directions (4 evaluations each; a wrong
    gradient whose error exceeds the tolerance on some element is missed with probability at most
    ``2**-n_directions``). ``mode="fast"`` screens all inputs and parameters at once: one cotangent, one
    backward and ``n_directions + 1`` forward evaluations (forward differences, curvature measured on the first
    direction); if any direction fails, the full per-argument checks run and decide, so the screen never
    raises an alarm the full checks would not.

    Args:
        layer: a NumPy module instance (``forward``/``backward``, ``params``/``grads``; a loss takes ``(x, y)``),
            a ``torch.nn.Module`` instance, or a ``torch.autograd.Function`` subclass.
        *inputs: the call's arguments (NumPy arrays or tensors; non-float arguments such as ``eps`` are fixed).
        wrt: names to check (default: every input and parameter).
        mode: ``"auto"``, ``"elementwise"``, ``"directional"`` or ``"fast"``.
        n_directions: directions per argument in directional mode (default 8).
        max_elementwise: largest argument checked element by element in auto mode (default 64).
        seed: seed of the cotangents and directions (default 0); the same seed reproduces the same check.
        device: torch device for torch targets (default: that of the inputs, else ``"cpu"``).
        positive: names of inputs whose domain is ``x > 0`` (e.g. the probabilities of a loss): their steps
            are relative to each element so that no evaluation leaves the domain.

    Returns:
        A :class:`Report`; ``report.passed`` is True when every gradient matched.

    Raises:
        InvalidArgument: an option is invalid (the message names the fix).
        InvalidTarget: ``layer`` follows no supported protocol.

    Example:
        >>> import numpy as np, layers
        >>> check(layers.LinearModule(3, 2), np.ones((4, 3))).passed
        True

        A backward that forgets the factor 2 of ``x²`` fails, and says so::

            class Square:
                params, grads = {}, {}
                def forward(self, x): self.x = x; return x * x
                def backward(self, dout): return dout * self.x      # should be 2·x·dout
            check(Square(), np.ones(3)).passed                      # False: "times 1/2"
    """
    validate_options(mode, n_directions, max_elementwise, seed)
    view = adapt(layer, inputs, device)
    try:
        results = check_view(
            view,
            wrt=wrt,
            mode=mode,
            n_directions=n_directions,
            max_elementwise=max_elementwise,
            seed=seed,
            positive=positive,
        )
    finally:
        view.restore()
    options = {"mode": mode, "n_directions": n_directions, "max_elementwise": max_elementwise}
    return Report(target=view.name, results=tuple(results), seed=seed, options=options)


def assert_gradients(layer: Any, *inputs: Any, **options: Any) -> Report:
    r"""Like :func:`check`, but raise :class:`GradientMismatch` (an ``AssertionError``) when any gradient fails.

    The comparison is :func:`check`'s: ``|A − R| ≤ 2·(error estimate + κ·ε_eval·|f|/t) + κ·ε_layer·M`` per element
    or direction, with the same defaults (``mode="auto"``, ``n_directions=8``, ``max_elementwise=64``,
    ``seed=0``). The message follows the harness's one template: a summary line, ``k / n elements mismatched``,
    the greatest absolute and relative difference with the index and the tolerance, the location (layer →
    argument → element), shape, dtype, device, step and seed. Harness frames are hidden from pytest tracebacks.

    Args:
        layer: as for :func:`check`.
        *inputs: as for :func:`check`.
        **options: any keyword option of :func:`check` (``wrt``, ``mode``, ``n_directions``,
            ``max_elementwise``, ``seed``, ``device``, ``positive``).

    Returns:
        The passing :class:`Report`.

    Raises:
        GradientMismatch: some gradient did not match (or the layer raised while being checked).
        InvalidArgument: an option is invalid (the message names the fix).
        InvalidTarget: ``layer`` follows no supported protocol.

    Example:
        >>> import numpy as np, layers
        >>> assert_gradients(layers.LinearModule(3, 2), np.ones((4, 3))).passed
        True

        A wrong backward raises ``GradientMismatch: ... 1 of 1 gradient checks failed`` followed by the
        template above, e.g. for the ``Square`` of :func:`check`::

            assert_gradients(Square(), np.ones(3))    # GradientMismatch: ... times 1/2
    """
    __tracebackhide__ = True
    report = check(layer, *inputs, **options)
    if not report.passed:
        raise GradientMismatch(render_failures(report))
    return report
