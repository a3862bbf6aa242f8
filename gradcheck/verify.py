"""A layer's gradients against finite differences: the engine applied to one :class:`OpView`.

:func:`check_view` is what :func:`gradcheck.check` and the checklist's gradient properties both call; it knows
views and the engine, nothing about kinds, properties or reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from gradcheck.engine.noise import vjp_noise
from gradcheck.engine.summary import summarise, worst
from gradcheck.engine.tolerances import element_scale
from gradcheck.engine.vjp_check import Noise, directional, elementwise, fast
from gradcheck.errors import InvalidArgument, LayerError
from gradcheck.results import GradientResult, Status
from gradcheck.view import OpView, describe
from gradcheck.view.base import present

__all__ = ["MODES", "NO_GRADIENT", "check_view", "least_precise", "validate_options"]

MODES = ("auto", "elementwise", "directional", "fast")
#: The ``mode`` of the skip record of an argument whose gradient ``backward`` returned as ``None``: callers that
#: know the contract (the checklist) decide whether that is allowed.
NO_GRADIENT = "no gradient"


def validate_options(mode: str, n_directions: int, max_elementwise: int, seed: int) -> None:
    """Raise :class:`InvalidArgument` naming the fix for any invalid option."""
    if mode not in MODES:
        raise InvalidArgument(f"mode={mode!r} is not one of {MODES}; pass mode='auto' to choose by size")
    if not isinstance(n_directions, int) or n_directions < 1:
        raise InvalidArgument(f"n_directions={n_directions!r} must be a positive int (default 8)")
    if not isinstance(max_elementwise, int) or max_elementwise < 0:
        raise InvalidArgument(f"max_elementwise={max_elementwise!r} must be a non-negative int (default 64)")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be a non-negative int")


def least_precise(*dtypes: npt.DTypeLike) -> np.dtype:
    """The float dtype with the largest ``ε`` among ``dtypes``."""
    return max((np.dtype(d) for d in dtypes), key=lambda d: np.finfo(d).eps)


def _eval_dtype(view: OpView, point: dict[str, np.ndarray], layer_dtype: np.dtype) -> tuple[np.dtype, np.ndarray]:
    # A dtype-generic layer is differenced in float64; a layer that computes in float32 whatever it is given
    # (it casts its input or keeps float32 weights) is differenced in the dtype of its output, float64 input or not.
    # The output at the float64 point comes back too: in float64 it is f(x), which the fast screen reuses.
    out = view.forward({k: v.astype(np.float64, copy=False) for k, v in point.items()})
    if out.dtype.kind != "f" or out.dtype == np.float64:
        return np.dtype(np.float64), out
    return least_precise(out.dtype, layer_dtype), out


class _VjpCache:
    """One layer backward per cotangent, shared by all the arguments checked with the same cotangents."""

    def __init__(self, view: OpView, point: dict[str, np.ndarray]):
        self.view, self.point = view, point
        self._last: tuple[np.ndarray, dict[str, np.ndarray | None]] | None = None

    def __call__(self, cot: np.ndarray) -> dict[str, np.ndarray | None]:
        # The arguments are checked one after another with the same cotangents: remembering the last suffices.
        if self._last is None or not np.array_equal(self._last[0], cot):
            self._last = (cot.copy(), self.view.vjp(self.point, cot))
        return self._last[1]


def _grad_of(view: OpView, cache: _VjpCache, name: str) -> Callable[[np.ndarray], np.ndarray]:
    expected = view.point[name].shape

    def vjp(cot: np.ndarray) -> np.ndarray:
        g = cache(cot)[name]
        if g is None:
            raise _NoGradient(name)
        g = np.asarray(g)
        if g.shape != expected:
            hint = " (the transpose: a layout slip)" if g.shape == expected[::-1] else ""
            raise _WrongShape(
                f"{view.name}.backward: gradient of {name!r} has shape {g.shape}, expected {expected}{hint}"
            )
        return g

    return vjp


class _NoGradient(Exception):
    pass


class _WrongShape(Exception):
    """A gradient of another shape than its argument: a wrong result (a failure), not a crash."""


def _check_one(
    view: OpView, point: dict, cache: _VjpCache, name: str, eval_dtype: np.dtype, opts: dict[str, Any]
) -> GradientResult:
    x = point[name]
    # The analytic side is only as precise as the least precise array the layer computes with.
    layer_dtype = least_precise(*(v.dtype for v in point.values()), eval_dtype)
    eval_point = {k: v.astype(eval_dtype) for k, v in point.items()}

    def f(v: np.ndarray) -> np.ndarray:
        values = {**eval_point, name: v.astype(eval_dtype, copy=False)}
        out = np.asarray(view.forward(values), dtype=np.float64)
        if not np.all(np.isfinite(out)):
            moved = not np.array_equal(v, x64)
            where = f"at {name} moved by a finite-difference step" if moved else "at the given point"
            hint = f"; if {name} must stay positive, pass positive=({name!r},)" if moved else ""
            raise LayerError(
                f"{view.name}.forward returned {int(np.sum(~np.isfinite(out)))} non-finite values (NaN/Inf) in an "
                f"output of shape {out.shape} {where} (called with {describe(values)}){hint}"
            )
        return out

    rng = np.random.default_rng(opts["seed"])
    x64 = x.astype(np.float64)
    use_elementwise = opts["mode"] == "elementwise" or (opts["mode"] == "auto" and x.size <= opts["max_elementwise"])
    kw: dict[str, Any] = {
        "rng": rng,
        "eval_dtype": eval_dtype,
        "analytic_dtype": layer_dtype,
        "positive": name in opts["positive"],
    }
    vjp = _grad_of(view, cache, name)
    # Consulted only where the a-priori bound leaves less than MARGIN_FLOOR: in any precision, a gradient that is
    # zero by cancellation (layer norm of one feature) keeps the rounding of terms the bound does not count.
    kw["analytic_noise"] = _layer_noise(view, point, name, layer_dtype, opts["seed"])
    if use_elementwise:
        comp = elementwise(f, vjp, x64, **kw)
    else:
        comp = directional(f, vjp, x64, n_directions=opts["n_directions"], **kw)
    batch = opts.get("batch")
    return summarise(
        comp,
        (view.name, name),
        x=x64,
        seed=opts["seed"],
        dtype=str(layer_dtype),
        eval_dtype=str(eval_dtype),
        device=view.device,
        batch=batch,
    )


def _layer_noise(view: OpView, point: dict, name: str, dtype: np.dtype, seed: int) -> Noise:
    """``c ↦`` the measured rounding noise of the layer's own VJP of ``name`` in ``dtype``.

    See :func:`gradcheck.engine.noise.vjp_noise`: the spread of the layer's VJP at inputs, parameters and
    cotangent moved by ``ε`` of ``dtype``; below float64, accepted up to AMPLIFICATION_SLACK times the
    amplification the same computation shows in float64, one level for the whole array; in float64, per element.
    """

    def vjp(values: Mapping[str, np.ndarray], c: np.ndarray) -> dict[str, np.ndarray]:
        g = view.vjp(dict(values), c)[name]
        return {name: np.zeros(point[name].shape) if g is None else np.asarray(g, dtype=np.float64)}

    def noise(c: np.ndarray) -> np.ndarray:
        if np.dtype(dtype) == np.float64:  # no float64 run to confirm it: each element its own spread
            return np.asarray(vjp_noise(vjp, point, c, dtype, seed + 1, per_element=True)[name])
        level = vjp_noise(vjp, point, c, dtype, seed + 1)[name]
        return np.full(point[name].shape, level)

    return noise


def _fast_screen(
    view: OpView,
    point: dict,
    cache: _VjpCache,
    names: tuple[str, ...],
    eval_dtype: np.dtype,
    opts: dict,
    y0: np.ndarray | None,
) -> GradientResult | None:
    """All names at once through :func:`gradcheck.engine.vjp_check.fast`; ``None`` unless every direction passed."""
    shapes = {k: point[k].shape for k in names}
    sizes = [int(np.prod(s)) for s in shapes.values()]
    x = np.concatenate([point[k].astype(np.float64).ravel() for k in names])
    scale = np.concatenate([element_scale(point[k], k in opts["positive"]).ravel() for k in names])
    dtype = least_precise(*(v.dtype for v in point.values()), eval_dtype)
    eval_point = {k: v.astype(eval_dtype) for k, v in point.items()}

    def split(v: np.ndarray) -> dict[str, np.ndarray]:
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return {k: p.reshape(shapes[k]) for k, p in zip(names, parts, strict=True)}

    def f(v: np.ndarray) -> np.ndarray:
        values = {**eval_point, **{k: p.astype(eval_dtype, copy=False) for k, p in split(v).items()}}
        return np.asarray(view.forward(values), dtype=np.float64)

    def vjp(c: np.ndarray) -> np.ndarray:
        grads = present(cache(c))
        if any(k not in grads or np.shape(grads[k]) != shapes[k] for k in names):
            raise _NoGradient(names[0])
        return np.concatenate([np.asarray(grads[k], dtype=np.float64).ravel() for k in names])

    try:
        comp = fast(
            f,
            vjp,
            x,
            rng=np.random.default_rng(opts["seed"]),
            eval_dtype=eval_dtype,
            analytic_dtype=dtype,
            n_directions=opts["n_directions"],
            scale=scale,
            y0=y0,
        )
    except (_NoGradient, _WrongShape, LayerError):
        return None
    if not comp.ok.all():
        return None
    return worst(
        (view.name, "+".join(names)),
        comp.analytic,
        comp.numeric,
        comp.tolerance,
        by_element=False,
        mode="fast",
        step=comp.step,
        n_evals=comp.n_evals,
        seed=opts["seed"],
        shape=(int(x.size),),
        dtype=str(dtype),
        eval_dtype=str(eval_dtype),
        device=view.device,
    )


def check_view(
    view: OpView,
    point: dict[str, np.ndarray] | None = None,
    *,
    wrt: Iterable[str] | None = None,
    mode: str = "auto",
    n_directions: int = 8,
    max_elementwise: int = 64,
    seed: int = 0,
    batch: int | None = None,
    positive: Iterable[str] = (),
) -> list[GradientResult]:
    """Check the gradient of every name of ``view`` (or those in ``wrt``) at ``point`` (default: the view's).

    ``positive`` names inputs whose domain is ``x > 0``: their steps are relative to each element.
    """
    validate_options(mode, n_directions, max_elementwise, seed)
    point = dict(view.point if point is None else point)
    names = tuple(view.names if wrt is None else wrt)
    unknown = [n for n in names if n not in view.names]
    if unknown:
        raise InvalidArgument(f"wrt names {unknown} not among the layer's inputs and parameters {view.names}")
    first = point[view.input_names[0]] if view.input_names else next(iter(point.values()))
    opts = {"mode": mode, "n_directions": n_directions, "max_elementwise": max_elementwise, "seed": seed}
    opts["positive"] = tuple(positive)
    opts["batch"] = batch if batch is not None else (first.shape[0] if first.ndim else None)
    try:
        eval_dtype, y64 = _eval_dtype(view, point, np.dtype(first.dtype))
    except LayerError as exc:
        msg = str(exc) if "called with" in str(exc) else f"{exc} (called with {describe(point)})"
        return [GradientResult((view.name, n), "error", message=msg, seed=seed) for n in names]
    cache = _VjpCache(view, point)
    if mode == "fast":
        y0 = np.asarray(y64, dtype=np.float64) if eval_dtype == np.float64 else None
        screened = _fast_screen(view, point, cache, names, eval_dtype, opts, y0)
        if screened is not None:
            return [screened]
        opts["mode"] = "auto"  # the screen failed or could not run: the full checks decide, argument by argument
    results = []
    for name in names:
        try:
            results.append(_check_one(view, point, cache, name, eval_dtype, opts))
        except _WrongShape as exc:
            results.append(GradientResult((view.name, name), "fail", mode="shape", message=str(exc), seed=seed))
        except _NoGradient:
            msg = f"{view.name} returned no gradient for {name!r} (backward returned None); nothing to compare"
            results.append(GradientResult((view.name, name), "skip", mode=NO_GRADIENT, message=msg, seed=seed))
        except LayerError as exc:
            msg = str(exc) if "called with" in str(exc) else f"{exc} (checking {name!r} at {describe(point)})"
            results.append(GradientResult((view.name, name), _layer_status(exc), message=msg, seed=seed))
    return results


def _layer_status(exc: LayerError) -> Status:
    """``fail`` when the harness found the layer's result unusable (a gradient of another shape: a wrong result),
    ``error`` when the layer's own code raised (its fault names the exception type)."""
    return "fail" if exc.fault is not None and not exc.fault.exc_type else "error"
