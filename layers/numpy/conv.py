"""2-d convolution (cross-correlation) and max pooling on (N, C, H, W) batches, as in ``torch.nn.functional``.

Both are vectorised by looping over the k² kernel offsets ``(p, q)`` only, never over pixels or samples:
the offset ``(p, q)`` of every window is the strided slice
``xp[..., p : p + s(Ho−1) + 1 : s, q : q + s(Wo−1) + 1 : s]`` of the padded input ``xp``. For the
convolution, gathering these slices is im2col and scatter-adding into them is col2im (which accumulates
overlapping windows); max pooling reduces over them and scatters its gradient with ``np.add.at``.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from layers.numpy._base import Array, Module, nonnegative_int, positive_int


def _pad(x: Array, padding: int, value: float) -> Array:
    """Returns ``x`` with ``padding`` rows and columns of ``value`` on each side (``x`` itself if 0)."""
    if padding == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * padding, w + 2 * padding), value, dtype=x.dtype)
    xp[:, :, padding : padding + h, padding : padding + w] = x
    return xp


def _out_size(where: str, shape: tuple[int, ...], kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Returns ``(Ho, Wo) = ⌊(H + 2p − k)/s⌋ + 1``; ValueError if the padded input is smaller than k."""
    h, w = shape[2] + 2 * padding, shape[3] + 2 * padding
    if h < kernel or w < kernel:
        raise ValueError(
            f"{where}: expected padded input height and width >= kernel_size {kernel}, got {h}x{w} "
            f"(input {shape[2]}x{shape[3]}, padding {padding})"
        )
    return (h - kernel) // stride + 1, (w - kernel) // stride + 1


def _offset(p: int, q: int, stride: int, out_hw: tuple[int, int]) -> tuple[slice, ...]:
    """The index of kernel offset ``(p, q)`` in every window: a strided (N, C, Ho, Wo) slice of ``xp``."""
    ho, wo = out_hw
    return (
        slice(None),
        slice(None),
        slice(p, p + stride * (ho - 1) + 1, stride),
        slice(q, q + stride * (wo - 1) + 1, stride),
    )


def _as_matrix(weight: Array) -> Array:
    """The (O, C, k, k) weight as the (O, k²·C) matrix whose columns match the rows of ``cols``."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


class Conv2dModule(Module):
    """2-d cross-correlation with square kernels, exactly as ``torch.nn.functional.conv2d``.

    Forward, with ``xp`` the input zero-padded by ``P`` and stride ``s``::

        out[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q] · xp[n, c, s·i + p, s·j + q]

    computed as one batched matmul ``W (O, k²·C) @ cols (N, k²·C, Ho·Wo)`` on the im2col matrix (rows ordered
    by kernel offset, then channel, so that each offset is one contiguous block).

    Backward: each output element is linear in ``W``, ``b`` and ``xp``, so::

        dW[o, c, p, q] = Σ_{n, i, j} dout[n, o, i, j] · xp[n, c, s·i + p, s·j + q]     (dout @ colsᵀ)
        db[o]          = Σ_{n, i, j} dout[n, o, i, j]
        dxp[n, c, s·i + p, s·j + q] += Σ_o W[o, c, p, q] · dout[n, o, i, j]           (col2im of Wᵀ @ dout)

    and ``dx`` is ``dxp`` without its padding.

    Parameters: ``weight`` (O, C, k, k) ~ U(−1/√(C k²), 1/√(C k²)) as PyTorch's default, ``bias`` (O,) zeros;
    both float64.

    Args:
        in_channels: ``C``; an int ≥ 1.
        out_channels: ``O``; an int ≥ 1.
        kernel_size: ``k``; an int ≥ 1.
        stride: ``s``; an int ≥ 1. Defaults to 1.
        padding: ``P``, zeros on each side; an int ≥ 0. Defaults to 0.
        rng: the generator for the weights; None draws from ``np.random``.

    Raises:
        ValueError: an argument is out of range.

    Examples:
        >>> Conv2dModule(3, 8, 3, padding=1).forward(np.zeros((2, 3, 5, 5))).shape
        (2, 8, 5, 5)
        >>> Conv2dModule(3, 8, 3).forward(np.zeros((2, 4, 5, 5)))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: Conv2dModule.forward: expected x of shape (N, 3, H, W), got (2, 4, 5, 5)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(self._name, "in_channels", in_channels)
        self.out_channels = positive_int(self._name, "out_channels", out_channels)
        self.kernel_size = positive_int(self._name, "kernel_size", kernel_size)
        self.stride = positive_int(self._name, "stride", stride)
        self.padding = nonnegative_int(self._name, "padding", padding)
        bound = 1.0 / np.sqrt(self.in_channels * self.kernel_size**2)
        uniform = np.random.uniform if rng is None else rng.uniform
        self._init_params(weight=uniform(-bound, bound, self._weight_shape), bias=np.zeros(self.out_channels))

    @property
    def _weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)

    def forward(self, x: Array) -> Array:
        """Returns the cross-correlation of ``x`` (N, C, H, W) with ``weight`` plus ``bias``, (N, O, Ho, Wo).

        Raises:
            ValueError: ``x`` is not a finite (N, in_channels, H, W) array or is smaller than the kernel.
        """
        x = self._input(x, ("N", self.in_channels, "H", "W"))
        out_hw = _out_size(f"{self._name}.forward", x.shape, self.kernel_size, self.stride, self.padding)
        weight = self._param("weight", self._weight_shape, x.dtype)
        bias = self._param("bias", (self.out_channels,), x.dtype)
        cols = self._im2col(_pad(x, self.padding, 0.0), out_hw)
        out: Array = np.matmul(_as_matrix(weight), cols)
        out += bias[:, None]
        self._cache = (cols, weight, x.shape, out_hw)
        return out.reshape(x.shape[0], self.out_channels, *out_hw)

    def backward(self, dout: Array) -> Array:
        """Sets ``grads`` to ``dW``, ``db`` and returns ``dx`` (formulas in the class docstring)."""
        cols, weight, x_shape, out_hw = self._saved()
        n = x_shape[0]
        dout = self._dout(dout, (n, self.out_channels, *out_hw), cols.dtype)
        dout3 = dout.reshape(n, self.out_channels, -1)
        dweight = np.matmul(dout3, cols.transpose(0, 2, 1)).sum(axis=0)
        k = self.kernel_size
        dweight = dweight.reshape(self.out_channels, k, k, self.in_channels).transpose(0, 3, 1, 2)
        self._set_grads(weight=np.ascontiguousarray(dweight), bias=dout3.sum(axis=(0, 2)))
        dcols = np.matmul(_as_matrix(weight).T, dout3)
        return self._col2im(dcols, x_shape, out_hw)

    def _im2col(self, xp: Array, out_hw: tuple[int, int]) -> Array:
        """Gathers the windows of ``xp`` into ``cols`` (N, k²·C, Ho·Wo), one strided copy per offset."""
        n, c, k = xp.shape[0], self.in_channels, self.kernel_size
        cols = np.empty((n, k, k, c, *out_hw), dtype=xp.dtype)
        for p, q in product(range(k), repeat=2):
            cols[:, p, q] = xp[_offset(p, q, self.stride, out_hw)]
        return cols.reshape(n, k * k * c, -1)

    def _col2im(self, dcols: Array, x_shape: tuple[int, ...], out_hw: tuple[int, int]) -> Array:
        """Scatter-adds ``dcols`` (N, k²·C, Ho·Wo) back onto the padded input and crops the padding."""
        n, c, h, w = x_shape
        k, pad = self.kernel_size, self.padding
        dcols = dcols.reshape(n, k, k, c, *out_hw)
        dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
        for p, q in product(range(k), repeat=2):
            dxp[_offset(p, q, self.stride, out_hw)] += dcols[:, p, q]
        return dxp[:, :, pad : pad + h, pad : pad + w]


class MaxPool2dModule(Module):
    """2-d max pooling, exactly as ``torch.nn.functional.max_pool2d`` (no dilation, floor mode).

    Forward, with ``xp`` the input padded by ``P`` values of −∞ (never selected)::

        out[n, c, i, j] = max_{p, q < k} xp[n, c, s·i + p, s·j + q]

    Backward: the max is locally the selected element, so ``dout[n, c, i, j]`` flows to the argmax
    ``(p*, q*)`` of its window only; at ties that is the first maximum in row-major window order, as PyTorch.
    Overlapping windows (``s < k``) accumulate::

        dx[n, c, s·i + p* − P, s·j + q* − P] += dout[n, c, i, j]

    Args:
        kernel_size: ``k``; an int ≥ 1.
        stride: ``s``; an int ≥ 1. Defaults to ``kernel_size``.
        padding: ``P``; an int with 0 ≤ P ≤ k // 2 (PyTorch's rule). Defaults to 0.

    Raises:
        ValueError: an argument is out of range.

    Examples:
        >>> MaxPool2dModule(2).forward(np.arange(16.0).reshape(1, 1, 4, 4))
        array([[[[ 5.,  7.],
                 [13., 15.]]]])
        >>> MaxPool2dModule(2, padding=2)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ValueError: MaxPool2dModule: expected padding <= kernel_size // 2 = 1, got 2
    """

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = positive_int(self._name, "kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else positive_int(self._name, "stride", stride)
        self.padding = nonnegative_int(self._name, "padding", padding)
        if self.padding > self.kernel_size // 2:
            raise ValueError(
                f"{self._name}: expected padding <= kernel_size // 2 = {self.kernel_size // 2}, got {padding}"
            )
        self._offsets = list(product(range(self.kernel_size), repeat=2))  # row-major window order

    def forward(self, x: Array) -> Array:
        """Returns the window maxima (N, C, Ho, Wo) of ``x`` (N, C, H, W).

        Raises:
            ValueError: ``x`` is not a finite rank-4 array or is smaller than the kernel.
        """
        x = self._input(x, ("N", "C", "H", "W"))
        out_hw = _out_size(f"{self._name}.forward", x.shape, self.kernel_size, self.stride, self.padding)
        xp = _pad(x, self.padding, -np.inf)
        windows = [xp[_offset(p, q, self.stride, out_hw)] for p, q in self._offsets]
        out = windows[0].copy()
        for window in windows[1:]:
            np.maximum(out, window, out=out)
        argmax = np.zeros(out.shape, dtype=np.min_scalar_type(len(windows) - 1))
        for t in range(len(windows) - 1, -1, -1):  # descending, so the first maximum is written last
            np.copyto(argmax, t, where=windows[t] == out)
        self._cache = (argmax, x.shape, x.dtype)
        return out

    def backward(self, dout: Array) -> Array:
        """Returns ``dx``: each ``dout`` element added at the argmax of its window (see the class doc)."""
        argmax, x_shape, dtype = self._saved()
        dout = self._dout(dout, argmax.shape, dtype)
        dx = np.zeros(int(np.prod(x_shape)), dtype=dtype)
        np.add.at(dx, self._flat_argmax(argmax, x_shape).ravel(), dout.ravel())  # accumulates overlaps
        return dx.reshape(x_shape)

    def _flat_argmax(self, argmax: Array, x_shape: tuple[int, ...]) -> Array:
        """The flat index into ``x`` of each window's maximum: window origin plus the argmax offset."""
        n, c, h, w = x_shape
        ho, wo = argmax.shape[2:]
        s, pad = self.stride, self.padding
        offset = np.array([p * w + q for p, q in self._offsets])
        origin = (
            (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
            + (np.arange(ho) * s - pad).reshape(ho, 1) * w
            + (np.arange(wo) * s - pad)
        )
        return origin + offset[argmax]
