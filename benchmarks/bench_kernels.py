"""Kernel timings: forward, backward and forward+backward of each layer, per implementation.

Implementations (``extra_info["impl"]``):

- ``numpy``: the NumPy module of :mod:`layers` (``forward(x)``, then ``backward(dout)``), CPU only;
- ``function``: this project's ``torch.autograd.Function`` (``Fn.apply``);
- ``autograd``: this project's module composed from torch ops (batch and layer norm only);
- ``torch``: the ``torch.nn.functional`` reference.

Passes: ``fwd`` (forward with inputs that require grad, as in training), ``bwd`` (backward only: the NumPy
``backward`` on the cached forward, or ``torch.autograd.grad(..., retain_graph=True)`` on one graph) and
``fwd+bwd``. Every torch implementation computes the gradients of the input and of all parameters, as the
NumPy module does. All benchmarks of one layer, size, dtype and device share a pytest-benchmark ``group``, so
their ratios come from one run. CUDA timings call ``torch.cuda.synchronize()`` inside the timed function and
use the wall clock (``time.perf_counter``) whatever timer the CPU benchmarks use.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

EPS = 1e-5
PASSES = ("fwd", "bwd", "fwd+bwd")
DTYPES = ("float32", "float64")
CUDA = torch.cuda.is_available()
NO_CUDA = "CUDA is not available (torch.cuda.is_available() is False)"

Arrays = dict[str, np.ndarray]
Size = dict[str, int]


@dataclass(frozen=True)
class Layer:
    """A layer to time: its log-spaced sizes (the last one realistic) and how to build data and kernels."""

    name: str
    sizes: tuple[Size, ...]
    label: Callable[[Size], str]
    size_n: Callable[[Size], int]
    size_axis: str
    data: Callable[[Size, np.random.Generator], Arrays]
    impls: tuple[str, ...]
    quick: tuple[int, ...] = (0, -1)  # indices of the sizes kept by --bench-quick


@dataclass
class Kernel:
    """The three timed callables of one implementation on one piece of data."""

    fwd: Callable[[], Any]
    bwd: Callable[[], Any]
    fwdbwd: Callable[[], Any]

    def get(self, pass_: str) -> Callable[[], Any]:
        return {"fwd": self.fwd, "bwd": self.bwd, "fwd+bwd": self.fwdbwd}[pass_]


def _layers_attr(name: str) -> Any:
    """``layers.<name>``, or skip the benchmark if that layer is not written yet."""
    try:
        return getattr(importlib.import_module("layers"), name)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"layers.{name} is not available: {exc}")


def _rows(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


# ---------------------------------------------------------------- data (float64; cast per benchmark)


def _linear_data(s: Size, rng: np.random.Generator) -> Arrays:
    bound = 1 / np.sqrt(s["in"])
    return {
        "x": _rows(rng, s["B"], s["in"]),
        "weight": rng.uniform(-bound, bound, (s["out"], s["in"])),
        "bias": rng.uniform(-bound, bound, s["out"]),
        "dout": _rows(rng, s["B"], s["out"]),
    }


def _vector_data(s: Size, rng: np.random.Generator) -> Arrays:
    return {"x": _rows(rng, s["B"], s["D"]), "dout": _rows(rng, s["B"], s["D"])}


def _norm_data(s: Size, rng: np.random.Generator) -> Arrays:
    return {
        "x": 2.0 + 3.0 * _rows(rng, s["B"], s["D"]),
        "gamma": 1.0 + 0.1 * _rows(rng, s["D"]),
        "beta": 0.1 * _rows(rng, s["D"]),
        "dout": _rows(rng, s["B"], s["D"]),
    }


def _conv_data(s: Size, rng: np.random.Generator) -> Arrays:
    bound = 1 / np.sqrt(s["C"] * 9)
    return {
        "x": _rows(rng, s["N"], s["C"], s["H"], s["H"]),
        "weight": rng.uniform(-bound, bound, (s["O"], s["C"], 3, 3)),
        "bias": rng.uniform(-bound, bound, s["O"]),
        "dout": _rows(rng, s["N"], s["O"], s["H"], s["H"]),
    }


def _pool_out(h: int) -> int:
    return (h + 2 * 1 - 3) // 2 + 1  # kernel 3, stride 2, padding 1


def _pool_data(s: Size, rng: np.random.Generator) -> Arrays:
    ho = _pool_out(s["H"])
    return {"x": _rows(rng, s["N"], s["C"], s["H"], s["H"]), "dout": _rows(rng, s["N"], s["C"], ho, ho)}


def _bd(s: Size) -> str:
    return f"B={s['B']}, D={s['D']}"


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in [
        Layer(
            "linear",
            tuple({"B": b, "in": d, "out": d} for b, d in [(16, 64), (32, 128), (64, 256), (128, 512), (256, 1024)]),
            lambda s: f"B={s['B']}, {s['in']}→{s['out']}",
            lambda s: s["B"] * s["in"] * s["out"],
            "multiply-adds of the forward (B·in·out)",
            _linear_data,
            ("numpy", "function", "torch"),
        ),
        *(
            Layer(
                name,
                tuple({"B": b, "D": d} for b, d in [(16, 64), (32, 256), (64, 1024), (256, 4096)]),
                _bd,
                lambda s: s["B"] * s["D"],
                "input elements (B·D)",
                _vector_data,
                ("numpy", "torch"),
            )
            for name in ("relu", "softmax")
        ),
        *(
            Layer(
                name,
                tuple({"B": b, "D": d} for b, d in [(16, 32), (32, 128), (64, 512), (128, 2048), (256, 4096)]),
                _bd,
                lambda s: s["B"] * s["D"],
                "input elements (B·D)",
                _norm_data,
                impls,
            )
            for name, impls in [
                ("batchnorm", ("numpy", "function", "autograd", "torch")),
                ("layernorm", ("function", "autograd", "torch")),
            ]
        ),
        Layer(
            "conv2d",
            tuple(
                {"N": n, "C": c, "H": h, "O": o}
                for n, c, h, o in [(2, 4, 8, 8), (4, 8, 16, 16), (8, 16, 32, 32), (32, 32, 32, 64)]
            ),
            lambda s: f"N={s['N']}, C={s['C']}, {s['H']}×{s['H']}, {s['O']} out, 3×3, pad 1",
            lambda s: s["N"] * s["O"] * s["H"] * s["H"] * s["C"] * 9,
            "multiply-adds of the forward (N·O·H·W·C·9)",
            _conv_data,
            ("numpy", "function", "torch"),
        ),
        Layer(
            "maxpool2d",
            tuple({"N": n, "C": c, "H": h} for n, c, h in [(2, 8, 8), (4, 16, 16), (16, 32, 32), (32, 64, 32)]),
            lambda s: f"({s['N']}, {s['C']}, {s['H']}, {s['H']}), 3×3 s2 p1",
            lambda s: s["N"] * s["C"] * s["H"] * s["H"],
            "input elements (N·C·H·W)",
            _pool_data,
            ("numpy", "torch"),
        ),
    ]
}


# ---------------------------------------------------------------- implementations


def _numpy_module(layer: str, s: Size, data: Arrays) -> tuple[Any, Arrays]:
    """The NumPy module for ``layer`` and the parameter arrays to install in ``module.params``."""
    if layer == "linear":
        return _layers_attr("LinearModule")(s["in"], s["out"]), {
            "weight": data["weight"],
            "bias": data["bias"],
        }
    if layer == "relu":
        return _layers_attr("ReLUModule")(), {}
    if layer == "softmax":
        return _layers_attr("SoftMaxModule")(), {}
    if layer == "batchnorm":
        return _layers_attr("BatchNormModule")(s["D"], EPS), {"gamma": data["gamma"], "beta": data["beta"]}
    if layer == "conv2d":
        module = _layers_attr("Conv2dModule")(s["C"], s["O"], 3, stride=1, padding=1)
        return module, {"weight": data["weight"], "bias": data["bias"]}
    if layer == "maxpool2d":
        return _layers_attr("MaxPool2dModule")(3, stride=2, padding=1), {}
    pytest.skip(f"no NumPy module for {layer}")


def numpy_kernel(layer: str, s: Size, data: Arrays) -> Kernel:
    module, params = _numpy_module(layer, s, data)
    for key, value in params.items():
        module.params[key] = value.copy()
    x, dout = data["x"], data["dout"]

    def fwdbwd() -> Any:
        module.forward(x)
        return module.backward(dout)

    module.forward(x)  # the cache that the backward-only benchmark reuses
    return Kernel(lambda: module.forward(x), lambda: module.backward(dout), fwdbwd)


def _torch_fn(layer: str, impl: str, s: Size, t: dict[str, torch.Tensor]) -> tuple[Callable[..., Any], list]:
    """The function of ``impl`` for ``layer`` and the tensors it differentiates with respect to."""
    x = t["x"]
    params = [t[k] for k in ("weight", "bias", "gamma", "beta") if k in t]
    if impl == "torch":
        ref: dict[str, Callable[..., Any]] = {
            "linear": F.linear,
            "relu": F.relu,
            "softmax": lambda x: F.softmax(x, dim=1),
            "batchnorm": lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=EPS),
            "layernorm": lambda x, g, b: F.layer_norm(x, (x.shape[1],), g, b, eps=EPS),
            "conv2d": lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1),
            "maxpool2d": lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
        }
        return ref[layer], [x, *params]
    if impl == "function":
        name = {
            "linear": "LinearFunction",
            "batchnorm": "CustomBatchNormManualFunction",
            "layernorm": "CustomLayerNormManualFunction",
            "conv2d": "Conv2dFunction",
        }[layer]
        fn = _layers_attr(name)
        if layer == "conv2d":
            return (lambda x, w, b: fn.apply(x, w, b, 1, 1)), [x, *params]
        if layer in ("batchnorm", "layernorm"):
            return (lambda x, g, b: fn.apply(x, g, b, EPS)), [x, *params]
        return fn.apply, [x, *params]
    if impl == "autograd":
        name = {"batchnorm": "CustomBatchNormAutograd", "layernorm": "CustomLayerNormAutograd"}[layer]
        module = _layers_attr(name)(s["D"], EPS).to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            module.gamma.copy_(t["gamma"])
            module.beta.copy_(t["beta"])
        return (lambda x, g, b: module(x)), [x, module.gamma, module.beta]
    raise ValueError(f"unknown implementation {impl!r}")


def torch_kernel(layer: str, impl: str, s: Size, data: Arrays, dtype: str, device: str) -> Kernel:
    t = {
        k: torch.as_tensor(v, dtype=getattr(torch, dtype), device=device).requires_grad_(k != "dout")
        for k, v in data.items()
    }
    fn, inputs = _torch_fn(layer, impl, s, t)
    dout = t["dout"]
    sync: Callable[[], None] = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def fwd() -> None:
        fn(*inputs)
        sync()

    graph = fn(*inputs)

    def bwd() -> None:
        torch.autograd.grad(graph, inputs, dout, retain_graph=True)
        sync()

    def fwdbwd() -> None:
        torch.autograd.grad(fn(*inputs), inputs, dout)
        sync()

    return Kernel(fwd, bwd, fwdbwd)


# ---------------------------------------------------------------- parametrisation


def _cases() -> list[Any]:
    cases = []
    for layer in LAYERS.values():
        quick = {i % len(layer.sizes) for i in layer.quick}
        for i, size in enumerate(layer.sizes):
            for dtype in DTYPES:
                for device in ("cpu", "cuda"):
                    for impl in layer.impls:
                        if device == "cuda" and impl == "numpy":
                            continue
                        for pass_ in PASSES:
                            marks: list[Any] = [] if i in quick else [pytest.mark.bench_full]
                            if device == "cuda":
                                marks += [
                                    pytest.mark.cuda,
                                    pytest.mark.skipif(not CUDA, reason=NO_CUDA),
                                    pytest.mark.benchmark(timer=time.perf_counter),  # wall clock for the GPU
                                ]
                            shape = "x".join(str(v) for v in size.values())
                            case_id = f"{layer.name}-{shape}-{dtype}-{device}-{impl}-{pass_}"
                            cases.append(
                                pytest.param(layer.name, size, dtype, device, impl, pass_, id=case_id, marks=marks)
                            )
    return cases


_DATA_CACHE: dict[tuple[str, tuple[int, ...]], Arrays] = {}


def _data(layer: Layer, size: Size, dtype: str) -> Arrays:
    key = (layer.name, tuple(size.values()))
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()  # cases are ordered by layer and size: keep one size in memory
        _DATA_CACHE[key] = layer.data(size, np.random.default_rng(0))
    return {k: v.astype(dtype) for k, v in _DATA_CACHE[key].items()}


@pytest.mark.parametrize(("layer_name", "size", "dtype", "device", "impl", "pass_"), _cases())
def test_kernel(
    benchmark: Any,
    thread_info: dict[str, Any],
    layer_name: str,
    size: Size,
    dtype: str,
    device: str,
    impl: str,
    pass_: str,
) -> None:
    layer = LAYERS[layer_name]
    data = _data(layer, size, dtype)
    if impl == "numpy":
        kernel = numpy_kernel(layer.name, size, data)
    else:
        kernel = torch_kernel(layer.name, impl, size, data, dtype, device)
    fn = kernel.get(pass_)
    for _ in range(2):  # warm-up: allocator, lazy initialisation, CUDA kernels
        fn()
    label = layer.label(size)
    benchmark.group = f"{layer.name} | {label} | {dtype} | {device}"
    benchmark.extra_info.update(
        {
            "kind": "kernel",
            "layer": layer.name,
            "impl": impl,
            "pass": pass_,
            "size": dict(size),
            "size_label": label,
            "size_n": layer.size_n(size),
            "size_axis": layer.size_axis,
            "dtype": dtype,
            "device": device,
            **thread_info,
        }
    )
    benchmark(fn)


def sizes_of(layer: str) -> Sequence[Size]:
    """The sizes measured for ``layer`` (used by the report's tests and docs)."""
    return LAYERS[layer].sizes
