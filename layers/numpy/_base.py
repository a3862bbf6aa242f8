"""Shared plumbing of the NumPy layers: the module base class, argument validation and dtype handling.

Every layer computes in the dtype of its input (float32 in, float32 out; integer or bool input is promoted to
float64), reads its parameters afresh on every ``forward`` and casts each gradient back to the dtype of its
parameter. Validation errors name the module and method, what was expected and what was given.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
ShapeSpec = tuple[int | str, ...]


# --- constructor arguments ---


def positive_int(owner: str, name: str, value: object) -> int:
    """Returns ``value`` if it is an int ≥ 1, else raises ValueError naming ``owner`` and ``name``."""
    return _int_at_least(owner, name, value, 1)


def nonnegative_int(owner: str, name: str, value: object) -> int:
    """Returns ``value`` if it is an int ≥ 0, else raises ValueError naming ``owner`` and ``name``."""
    return _int_at_least(owner, name, value, 0)


def _int_at_least(owner: str, name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{owner}: expected {name} to be an int >= {low}, got {value!r}")
    return int(value)


def finite_float(owner: str, name: str, value: object, *, positive: bool = False) -> float:
    """Returns ``value`` as a float if it is a finite real number (and > 0 when ``positive``), else raises."""
    rule = "a finite float > 0" if positive else "a finite float"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{owner}: expected {name} to be {rule}, got {value!r}")
    number = float(value)
    if not np.isfinite(number) or (positive and number <= 0):
        raise ValueError(f"{owner}: expected {name} to be {rule}, got {value!r}")
    return number


# --- arrays ---


def as_float_array(where: str, name: str, a: object) -> Array:
    """Returns ``a`` as a floating ndarray without copying floats; integers and bools become float64."""
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise ValueError(f"{where}: expected {name} to be a real floating array, got dtype {arr.dtype}")


def format_spec(spec: ShapeSpec) -> str:
    """Renders a shape spec such as ``("B", 3)`` as ``(B, 3)``."""
    return "(" + ", ".join(str(d) for d in spec) + ("," if len(spec) == 1 else "") + ")"


def expect_shape(where: str, name: str, a: Array, spec: ShapeSpec) -> None:
    """Raises ValueError unless ``a`` has the rank of ``spec``, its int entries, and no zero-sized axis.

    Strings in ``spec`` name free axes; a trailing ``"..."`` allows any number of further axes.
    """
    free_tail = bool(spec) and spec[-1] == "..."
    fixed = spec[:-1] if free_tail else spec
    rank_ok = a.ndim >= len(fixed) if free_tail else a.ndim == len(fixed)
    fits = rank_ok and all(isinstance(d, str) or n == d for n, d in zip(a.shape, fixed, strict=False))
    if not fits:
        raise ValueError(f"{where}: expected {name} of shape {format_spec(spec)}, got {a.shape}")
    if a.size == 0:
        raise ValueError(f"{where}: expected a non-empty {name} of shape {format_spec(spec)}, got {a.shape}")


def expect_finite(where: str, name: str, a: Array) -> None:
    """Raises ValueError if ``a`` holds a NaN or an infinity, naming the first one.

    A finite sum proves every element finite (NaN and ±inf propagate through addition), so the common case
    costs one vectorised reduction; only a non-finite sum (or an overflow) pays for the element-wise test.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a, axis=None)
    if np.isfinite(total):
        return
    bad = ~np.isfinite(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: expected finite {name}, got {a[index]} at index {index}")


# --- the module protocol and base class ---


class Layer(Protocol):
    """A module with one input: what :class:`~layers.numpy.MLP` chains."""

    params: dict[str, Array]
    grads: dict[str, Array]

    def forward(self, x: Array) -> Array: ...

    def backward(self, dout: Array) -> Array: ...


class Module:
    """Base of the NumPy layers: ``params``/``grads`` dicts, the cache of the last forward and shared checks.

    Subclasses implement ``forward`` and ``backward``; the helpers below validate their arguments, read the
    parameters in the compute dtype and store gradients in the parameters' own dtype.
    """

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self._cache: tuple[Any, ...] | None = None

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _init_params(self, **params: Array) -> None:
        """Sets the parameters and zero gradients of the same shape and dtype."""
        self.params = dict(params)
        self.grads = {k: np.zeros_like(v) for k, v in params.items()}

    def _input(
        self,
        x: object,
        spec: ShapeSpec,
        name: str = "x",
        method: str = "forward",
        *,
        check_finite: bool = True,
    ) -> Array:
        """Validates a forward input: floating (ints promoted), of shape ``spec``, non-empty and finite.

        A layer that reduces ``x`` anyway may pass ``check_finite=False`` and call :meth:`_check_finite` only
        when its reduction is not finite.
        """
        where = f"{self._name}.{method}"
        arr = as_float_array(where, name, x)
        expect_shape(where, name, arr, spec)
        if check_finite:
            expect_finite(where, name, arr)
        return arr

    def _check_finite(self, x: Array, name: str = "x", method: str = "forward") -> None:
        """Raises ValueError naming the first non-finite element of ``x``, if any."""
        expect_finite(f"{self._name}.{method}", name, x)

    def _dout(self, dout: object, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
        """Checks the upstream gradient against the forward output shape; casts it to the compute dtype."""
        arr = as_float_array(f"{self._name}.backward", "dout", dout)
        if arr.shape != shape:
            raise ValueError(f"{self._name}.backward: expected dout of shape {shape}, got {arr.shape}")
        return arr.astype(dtype, copy=False)

    def _saved(self) -> tuple[Any, ...]:
        """Returns the cache of the last forward, or raises RuntimeError if there was none."""
        if self._cache is None:
            raise RuntimeError(
                f"{self._name}.backward: called before forward; call forward(x) first so that there is a "
                "cached input to differentiate at"
            )
        return self._cache

    def _param(self, key: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
        """Reads ``params[key]`` (as it is now), checks its shape and returns it in the compute dtype."""
        value = np.asarray(self.params[key])
        if value.shape != shape:
            raise ValueError(f"{self._name}.forward: expected params[{key!r}] of shape {shape}, got {value.shape}")
        return value.astype(dtype, copy=False)

    def _set_grads(self, **grads: Array) -> None:
        """Overwrites ``grads`` with fresh arrays cast to the dtype of the matching parameter."""
        for key, g in grads.items():
            self.grads[key] = g.astype(np.asarray(self.params[key]).dtype, copy=False)
