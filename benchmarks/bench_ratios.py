"""The targets, measured so that the figures hold: interleaved ratios and peak memory.

Each time target of :data:`gradcheck.benchreport.report.TARGETS` is one benchmark of kind ``ratio``: the layer
and its reference run alternately in this process for at least 15 rounds (:mod:`interleave`), forward and
backward with every gradient, and the per-round times go into ``extra_info`` (``impl_times``,
``ref_times``). Where a unit of work explains the cost (one pass over the batch in memory for the
normalisations, one matrix product of the forward's size for the convolutions) it is timed in the same
rounds (``unit_times``), so the report can say how many such units each side costs. The report summarises
the rounds (median ratio, bootstrap 95 % interval, verdict).

The memory target runs :mod:`peak_memory` in fresh processes, NumPy and torch alternately, and stores the
peaks (kind ``memory``). A CUDA target on a machine without CUDA is recorded with the reason and no times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from interleave import interleave

from gradcheck.benchreport.report import TARGETS, Target

ROUNDS_QUICK = 15
ROUNDS_FULL = 31
MEMORY_PAIRS = 5
EPS = 1e-5
CUDA = torch.cuda.is_available()
NO_CUDA = "CUDA is not available (torch.cuda.is_available() is False)"
HERE = Path(__file__).resolve().parent

Call = Callable[[], Any]
Built = tuple[Call, Call, Call | None, str]
"""The layer's call, the reference's call, an optional unit of work and what that unit is."""


def _rounds(config: pytest.Config) -> int:
    return ROUNDS_QUICK if config.getoption("--bench-quick") else ROUNDS_FULL


def _tensor(a: np.ndarray, device: str, grad: bool = True) -> torch.Tensor:
    return torch.as_tensor(a, device=device).requires_grad_(grad)


def _grads(fn: Callable[..., torch.Tensor], inputs: list[torch.Tensor], dout: torch.Tensor) -> Call:
    return lambda: torch.autograd.grad(fn(*inputs), inputs, dout)


# ---------------------------------------------------------------- data


def _norm_arrays(b: int = 256, d: int = 4096, dtype: Any = np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x": (2.0 + 3.0 * rng.standard_normal((b, d))).astype(dtype),
        "gamma": (1.0 + 0.1 * rng.standard_normal(d)).astype(dtype),
        "beta": (0.1 * rng.standard_normal(d)).astype(dtype),
        "dout": rng.standard_normal((b, d)).astype(dtype),
    }


def _conv_arrays(n: int = 32, c: int = 32, h: int = 32, o: int = 64) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(c * 9)
    return {
        "x": rng.standard_normal((n, c, h, h)).astype(np.float32),
        "weight": rng.uniform(-bound, bound, (o, c, 3, 3)).astype(np.float32),
        "bias": rng.uniform(-bound, bound, o).astype(np.float32),
        "dout": rng.standard_normal((n, o, h, h)).astype(np.float32),
    }


def _pass_unit(x: torch.Tensor) -> Call:
    """One pass over ``x`` in memory: read it, write a buffer of its size (no allocation)."""
    src, buf = x.detach(), torch.empty_like(x)
    return lambda: torch.mul(src, 2.0, out=buf)


def _torch_batch_norm(x: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, None, None, g, b, training=True, eps=EPS)


# ---------------------------------------------------------------- the pairs


def _norm_function(name: str, device: str) -> Built:
    import layers

    a = _norm_arrays()
    x, g, b = (_tensor(a[k], device) for k in ("x", "gamma", "beta"))
    dout = _tensor(a["dout"], device, grad=False)
    fn = getattr(layers, name)
    impl = _grads(lambda x, g, b: fn.apply(x, g, b, EPS), [x, g, b], dout)
    if name == "CustomLayerNormManualFunction":
        ref = _grads(lambda x, g, b: F.layer_norm(x, (x.shape[1],), g, b, eps=EPS), [x, g, b], dout)
    else:
        ref = _grads(_torch_batch_norm, [x, g, b], dout)
    return impl, ref, _pass_unit(x), "one pass over the (256, 4096) batch (read it, write a buffer)"


def _batchnorm_vs_autograd(device: str) -> Built:
    import layers

    a = _norm_arrays()
    x = _tensor(a["x"], device)
    dout = _tensor(a["dout"], device, grad=False)
    module = layers.CustomBatchNormAutograd(x.shape[1], EPS).to(device)
    with torch.no_grad():
        module.gamma.copy_(torch.as_tensor(a["gamma"]))
        module.beta.copy_(torch.as_tensor(a["beta"]))
    g, b = module.gamma, module.beta
    impl = _grads(lambda x, g, b: layers.CustomBatchNormManualFunction.apply(x, g, b, EPS), [x, g, b], dout)
    ref = _grads(lambda x, g, b: module(x), [x, g, b], dout)
    return impl, ref, _pass_unit(x), "one pass over the (256, 4096) batch (read it, write a buffer)"


def _conv_function(device: str) -> Built:
    import layers

    a = _conv_arrays()
    x, w, b = (_tensor(a[k], device) for k in ("x", "weight", "bias"))
    dout = _tensor(a["dout"], device, grad=False)
    impl = _grads(lambda x, w, b: layers.Conv2dFunction.apply(x, w, b, 1, 1), [x, w, b], dout)
    ref = _grads(lambda x, w, b: F.conv2d(x, w, b, padding=1), [x, w, b], dout)
    rows, w_mat = torch.randn(32 * 32 * 32, 32 * 9), torch.randn(32 * 9, 64)
    return impl, ref, lambda: rows @ w_mat, "one torch matrix product of the forward's size (32768×288 @ 288×64)"


def _numpy_pair(module: Any, a: dict[str, np.ndarray], params: tuple[str, ...], ref: Call) -> Call:
    for key in params:
        module.params[key] = a[key].copy()

    def call() -> Any:
        module.forward(a["x"])
        return module.backward(a["dout"])

    return call


def _numpy_batchnorm(device: str) -> Built:
    import layers

    a = _norm_arrays()
    t = {k: _tensor(v, device) for k, v in a.items() if k != "dout"}
    ref = _grads(_torch_batch_norm, [t["x"], t["gamma"], t["beta"]], _tensor(a["dout"], device, grad=False))
    impl = _numpy_pair(layers.BatchNormModule(a["x"].shape[1], EPS), a, ("gamma", "beta"), ref)
    return impl, ref, _pass_unit(t["x"]), "one pass over the (256, 4096) batch (read it, write a buffer)"


def _numpy_conv(device: str) -> Built:
    import layers

    a = _conv_arrays()
    t = {k: _tensor(v, device) for k, v in a.items() if k != "dout"}
    dout = _tensor(a["dout"], device, grad=False)
    ref = _grads(lambda x, w, b: F.conv2d(x, w, b, padding=1), [t["x"], t["weight"], t["bias"]], dout)
    impl = _numpy_pair(layers.Conv2dModule(32, 64, 3, padding=1), a, ("weight", "bias"), ref)
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((32 * 32 * 32, 32 * 9)).astype(np.float32)
    w_mat = rng.standard_normal((32 * 9, 64)).astype(np.float32)
    return impl, ref, lambda: rows @ w_mat, "one NumPy matrix product of the forward's size (32768×288 @ 288×64)"


def _numpy_linear(device: str) -> Built:
    import layers

    rng = np.random.default_rng(0)
    a = {
        "x": rng.standard_normal((256, 1024)).astype(np.float32),
        "weight": rng.uniform(-1 / 32, 1 / 32, (1024, 1024)).astype(np.float32),
        "bias": rng.uniform(-1 / 32, 1 / 32, 1024).astype(np.float32),
        "dout": rng.standard_normal((256, 1024)).astype(np.float32),
    }
    t = {k: _tensor(v, device) for k, v in a.items() if k != "dout"}
    ref = _grads(F.linear, [t["x"], t["weight"], t["bias"]], _tensor(a["dout"], device, grad=False))
    module = layers.LinearModule(1024, 1024)
    layout = module.params["weight"].shape
    a["weight"] = a["weight"] if layout == (1024, 1024) else a["weight"].T.copy()
    impl = _numpy_pair(module, a, ("weight", "bias"), ref)
    return impl, ref, None, ""


def _numpy_maxpool(device: str) -> Built:
    import layers

    rng = np.random.default_rng(0)
    a = {
        "x": rng.standard_normal((32, 64, 32, 32)).astype(np.float32),
        "dout": rng.standard_normal((32, 64, 16, 16)).astype(np.float32),
    }
    x = _tensor(a["x"], device)
    ref = _grads(lambda x: F.max_pool2d(x, 3, stride=2, padding=1), [x], _tensor(a["dout"], device, grad=False))
    impl = _numpy_pair(layers.MaxPool2dModule(3, stride=2, padding=1), a, (), ref)
    return impl, ref, None, ""


def _checking(device: str) -> Built:
    import gradcheck
    import layers

    gen = torch.Generator().manual_seed(0)
    x = (2.0 + 3.0 * torch.randn(256, 512, dtype=torch.float64, generator=gen)).requires_grad_()
    g = (1.0 + 0.1 * torch.randn(512, dtype=torch.float64, generator=gen)).requires_grad_()
    b = torch.randn(512, dtype=torch.float64, generator=gen).requires_grad_()
    fn = layers.CustomBatchNormManualFunction

    def impl() -> Any:
        return gradcheck.check(fn, x, g, b, mode="fast", n_directions=4, seed=0)

    def ref() -> Any:
        return torch.autograd.gradcheck(lambda *args: fn.apply(*args), (x, g, b), fast_mode=True)

    return impl, ref, None, ""


def _convnet_step(device: str) -> Built:
    from layers.torch.networks import ConvNet
    from layers.training.data import load_digits

    data = load_digits(seed=0)
    rng = np.random.default_rng(0)
    idx = rng.choice(data.x_train.shape[0], 32, replace=False)
    images = np.asarray(data.x_train[idx], dtype=np.float32).reshape(32, *data.image_shape)
    xb = torch.as_tensor(images, device=device)
    yb = torch.as_tensor(np.asarray(data.y_train[idx]), device=device).long()

    def step_of(custom: bool) -> Call:
        torch.manual_seed(0)
        model = ConvNet(data.image_shape[0], data.n_classes, use_custom=custom).to(device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)

        def step() -> None:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return step

    return step_of(True), step_of(False), None, ""


BUILDERS: dict[str, Callable[[str], Built]] = {
    "conv2d_function": _conv_function,
    "layernorm_function": lambda device: _norm_function("CustomLayerNormManualFunction", device),
    "batchnorm_function": lambda device: _norm_function("CustomBatchNormManualFunction", device),
    "batchnorm_function_cuda": lambda device: _norm_function("CustomBatchNormManualFunction", device),
    "batchnorm_function_vs_autograd": _batchnorm_vs_autograd,
    "numpy_batchnorm": _numpy_batchnorm,
    "numpy_conv2d": _numpy_conv,
    "numpy_linear": _numpy_linear,
    "numpy_maxpool2d": _numpy_maxpool,
    "checking_batchnorm": _checking,
    "convnet_training_step": _convnet_step,
}

UNIT_FLOORS: dict[str, tuple[int, str]] = {
    "numpy_conv2d": (3, "one product in the forward and two in the backward (dW and dx)"),
}
"""The fewest units of work a layer's algorithm needs, and why (its ratio cannot go below floor / reference)."""

TIME_TARGETS = [t for t in TARGETS if t.measure == "time"]


def _info(target: Target, thread_info: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"kind": kind, "target": target.id, "dtype": target.dtype, "device": target.device, **thread_info}


@pytest.mark.parametrize("target", TIME_TARGETS, ids=[t.id for t in TIME_TARGETS])
def test_ratio(benchmark: Any, request: pytest.FixtureRequest, thread_info: dict[str, Any], target: Target) -> None:
    benchmark.group = "targets"
    info = _info(target, thread_info, "ratio")
    if target.device == "cuda" and not CUDA:
        benchmark.extra_info.update(info, reason=NO_CUDA)
        benchmark.pedantic(lambda: None, rounds=1, iterations=1)
        return
    impl, ref, unit, unit_label = BUILDERS[target.id](target.device)
    measured: dict[str, Any] = {}

    def run() -> None:
        result = interleave(impl, ref, _rounds(request.config), unit=unit, device=target.device)
        measured.update(result.as_info())

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(info, **measured, unit_label=unit_label)
    if target.id in UNIT_FLOORS:
        floor, why = UNIT_FLOORS[target.id]
        benchmark.extra_info.update(unit_floor=floor, unit_floor_why=why)


def _peak(side: str) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(HERE / "peak_memory.py"), side], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


MEMORY_TARGETS = [t for t in TARGETS if t.measure == "memory"]


@pytest.mark.parametrize("target", MEMORY_TARGETS, ids=[t.id for t in MEMORY_TARGETS])
def test_peak_memory(benchmark: Any, thread_info: dict[str, Any], target: Target) -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("peak memory is read from /proc/self/status after resetting /proc/self/clear_refs (Linux)")
    benchmark.group = "targets"
    numpy_runs: list[dict[str, Any]] = []
    torch_runs: list[dict[str, Any]] = []

    def run() -> None:
        for i in range(MEMORY_PAIRS):  # alternate which side goes first
            for side in ("numpy", "torch") if i % 2 == 0 else ("torch", "numpy"):
                (numpy_runs if side == "numpy" else torch_runs).append(_peak(side))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(
        _info(target, thread_info, "memory"),
        impl_peaks=[r["rss_peak"] for r in numpy_runs],
        ref_peaks=[r["rss_peak"] for r in torch_runs],
        impl_traced_peaks=[r["traced_peak"] for r in numpy_runs],
        method="peak RSS above the RSS just before the call (VmHWM after clear_refs), one fresh process per run",
    )
