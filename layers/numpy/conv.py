"""2-d convolution (cross-correlation) and max pooling on (N, C, H, W) batches, as in ``torch.nn.functional``.

Both are vectorised by looping over the k² kernel offsets ``(p, q)`` only, never over pixels: the offset
``(p, q)`` of every window is a strided slice of the padded input ``xp``. For the convolution, gathering these
slices is im2col and scatter-adding into them is col2im (which accumulates overlapping windows); it works in
channels-last order, a few samples at a time, so that its patch matrix (k² times the input) is never held for
the whole batch. Max pooling reduces over the slices and scatters its gradient with ``np.add.at``.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def _offset_cl(p: int, q: int, stride: int, out_hw: tuple[int, int]) -> tuple[slice, ...]:
    """:func:`_offset` for a channels-last (N, H, W, C) array."""
    return (*_offset(p, q, stride, out_hw)[1:], slice(None))


def _as_matrix(weight: Array) -> Array:
    """The (O, C, k, k) weight as the (O, k²·C) matrix whose columns match the rows of ``cols``."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


_CHUNK_BYTES = 1 << 20
"""Size of the patch buffer of one chunk of samples (reused, so it stays in cache)."""


def _chunks(n: int, per_sample: int) -> list[slice]:
    """Slices of the batch whose patch matrices take about :data:`_CHUNK_BYTES` (at least one sample)."""
    step = max(1, min(n, _CHUNK_BYTES // max(per_sample, 1)))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


class Conv2dModule(Module):
    """2-d cross-correlation with square kernels, exactly as ``torch.nn.functional.conv2d``.

    Forward, with ``xp`` the input zero-padded by ``P`` and stride ``s``::

        out[n, o, i, j] = b[o] + Σ_{c, p, q} W[o, c, p, q] · xp[n, c, s·i + p, s·j + q]

    computed as the matrix product ``cols (N·Ho·Wo, k²·C) @ Wᵀ (k²·C, O)`` on the im2col matrix in channels-last
    order (one row per output pixel, columns ordered by kernel offset, then channel), a chunk of samples at a
    time (about 1 MiB of patches) in one reused buffer. Only the padded input is cached for the backward, which
    gathers each chunk's patches again: the k²-times-larger patch matrix is never held for the whole batch.

    Backward: each output element is linear in ``W``, ``b`` and ``xp``, so::

        dW[o, c, p, q] = Σ_{n, i, j} dout[n, o, i, j] · xp[n, c, s·i + p, s·j + q]     (dout @ colsᵀ)
        db[o]          = Σ_{n, i, j} dout[n, o, i, j]
        dxp[n, c, s·i + p, s·j + q] += Σ_o W[o, c, p, q] · dout[n, o, i, j]           (col2im of dout @ W)

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

        The result is a channels-last view (the matrix product's rows are pixels).

        Raises:
            ValueError: ``x`` is not a finite (N, in_channels, H, W) array or is smaller than the kernel.
        """
        x = self._input(x, ("N", self.in_channels, "H", "W"))
        out_hw = _out_size(f"{self._name}.forward", x.shape, self.kernel_size, self.stride, self.padding)
        weight = self._param("weight", self._weight_shape, x.dtype)
        bias = self._param("bias", (self.out_channels,), x.dtype)
        xp = self._pad_channels_last(x)
        w_mat_t = _as_matrix(weight).T
        out = np.empty((x.shape[0], *out_hw, self.out_channels), dtype=x.dtype)
        for part, cols in self._patches(xp, out_hw):
            np.matmul(cols, w_mat_t, out=out[part].reshape(cols.shape[0], -1))
        out += bias
        self._cache = (xp, weight, x.shape, out_hw)
        return out.transpose(0, 3, 1, 2)

    def backward(self, dout: Array) -> Array:
        """Sets ``grads`` to ``dW``, ``db`` and returns ``dx`` (formulas in the class docstring).

        The patches of each chunk are gathered again from the cached padded input instead of being kept.
        """
        xp, weight, x_shape, out_hw = self._saved()
        n, c, h, w = x_shape
        dout = self._dout(dout, (n, self.out_channels, *out_hw), xp.dtype)
        dout_rows = dout.transpose(0, 2, 3, 1)  # (N, Ho, Wo, O): the rows of the forward's product
        w_mat = _as_matrix(weight)
        dw_mat = np.zeros_like(w_mat)
        dxp = np.zeros_like(xp)
        for part, cols in self._patches(xp, out_hw):
            rows = np.ascontiguousarray(dout_rows[part]).reshape(cols.shape[0], -1)
            dw_mat += rows.T @ cols
            self._col2im(rows @ w_mat, dxp[part], out_hw)
        k, pad = self.kernel_size, self.padding
        dweight = dw_mat.reshape(self.out_channels, k, k, c).transpose(0, 3, 1, 2)
        self._set_grads(weight=np.ascontiguousarray(dweight), bias=dout.sum(axis=(0, 2, 3)))
        return dxp[:, pad : pad + h, pad : pad + w].transpose(0, 3, 1, 2)

    def _pad_channels_last(self, x: Array) -> Array:
        """``x`` (N, C, H, W) zero-padded and transposed to (N, H + 2P, W + 2P, C)."""
        n, c, h, w = x.shape
        pad = self.padding
        xp = np.zeros((n, h + 2 * pad, w + 2 * pad, c), dtype=x.dtype)
        xp[:, pad : pad + h, pad : pad + w] = x.transpose(0, 2, 3, 1)
        return xp

    def _patches(self, xp: Array, out_hw: tuple[int, int]) -> Iterator[tuple[slice, Array]]:
        """Per chunk of samples, the im2col rows (chunk·Ho·Wo, k²·C), in one reused buffer."""
        k, c, (ho, wo) = self.kernel_size, self.in_channels, out_hw
        parts = _chunks(xp.shape[0], ho * wo * k * k * c * xp.itemsize)
        buf = np.empty((parts[0].stop - parts[0].start, ho, wo, k, k, c), dtype=xp.dtype)
        for part in parts:
            cols = buf[: part.stop - part.start]
            for p, q in product(range(k), repeat=2):
                cols[:, :, :, p, q] = xp[part][_offset_cl(p, q, self.stride, out_hw)]
            yield part, cols.reshape(-1, k * k * c)

    def _col2im(self, dcols: Array, dxp: Array, out_hw: tuple[int, int]) -> None:
        """Scatter-adds ``dcols`` (chunk·Ho·Wo, k²·C) onto the chunk ``dxp`` (chunk, H + 2P, W + 2P, C)."""
        k = self.kernel_size
        dcols = dcols.reshape(dxp.shape[0], *out_hw, k, k, self.in_channels)
        for p, q in product(range(k), repeat=2):
            dxp[_offset_cl(p, q, self.stride, out_hw)] += dcols[:, :, :, p, q]


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
