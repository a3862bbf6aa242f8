"""Cost of checking: this project's engine against ``torch.autograd.gradcheck`` on identical functions.

``gradcheck.check(Fn, *inputs, mode=..., n_directions=4, seed=0)`` in its ``fast`` and ``directional`` modes
is timed against ``torch.autograd.gradcheck(Fn.apply, inputs, fast_mode=True)`` and, where the full Jacobian
is affordable, ``fast_mode=False``: the custom batch-norm Function as its input grows from n = 10² to 10⁶
elements (B×D = 10×10, 20×50, 100×100, 200×500, 1000×1000) and ``LinearFunction``, float64 on the CPU, every
input requiring grad on both sides. Each record also holds the time of one forward + backward of the
Function at that size (``extra_info["call_seconds"]``), so that the cost of a check can be read in units of
calls: a checker whose cost is independent of n makes the same number of calls at every size.

Evaluations are counted the same way for every checker: the Function's ``forward`` is wrapped with a
counter for one extra, untimed run (``extra_info["n_forward"]``, analytic side included). The engine's own
count of finite-difference evaluations (``report.n_evals``) is stored as ``extra_info["n_evals"]``; for
torch's gradcheck ``n_evals`` is the counted forward calls. One check takes up to seconds, so each is timed
with ``benchmark.pedantic``: rounds chosen from one untimed run to fill about a second, at least 3.
"""

from __future__ import annotations

import functools
import importlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

N_DIRECTIONS = 4
SEED = 0
SLOW_MAX_ELEMENTS = 2048  # torch's slow mode builds the full Jacobian: 2 forwards per input element
TARGET_SECONDS = 1.0

BN_SIZES = [(10, 10), (20, 50), (100, 100), (200, 500), (1000, 1000)]
BN_QUICK = set(BN_SIZES)  # the sweep over n is the point: all of it in the quick set
LINEAR_SIZES = [(16, 32, 32), (64, 128, 128), (256, 512, 512)]
LINEAR_QUICK = {(16, 32, 32), (256, 512, 512)}


def _function(name: str) -> Any:
    try:
        return getattr(importlib.import_module("layers"), name)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"layers.{name} is not available: {exc}")


def _engine_check() -> Callable[..., Any]:
    engine = importlib.import_module("gradcheck")
    check = getattr(engine, "check", None)
    if check is None:
        pytest.skip("the engine API gradcheck.check(target, *inputs, mode=..., n_directions=..., seed=...) is missing")
    return check


@contextmanager
def counting(fn_cls: Any) -> Iterator[list[int]]:
    """Count calls of ``fn_cls.forward`` (the Function's own forward) while the block runs."""
    calls = [0]
    original = fn_cls.__dict__["forward"]
    inner = original.__func__ if isinstance(original, staticmethod) else original

    @functools.wraps(inner)
    def forward(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return inner(*args, **kwargs)

    fn_cls.forward = staticmethod(forward)
    try:
        yield calls
    finally:
        fn_cls.forward = original


def _tensors(shapes: dict[str, tuple[int, ...]], scale: dict[str, tuple[float, float]]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(SEED)
    out = []
    for name, shape in shapes.items():
        loc, spread = scale.get(name, (0.0, 1.0))
        t = loc + spread * torch.randn(*shape, dtype=torch.float64, generator=gen)
        out.append(t.requires_grad_())
    return out


def _cases() -> list[Any]:
    cases = []
    for b, d in BN_SIZES:
        for checker in ("engine-directional", "engine", "torch-fast", "torch-slow"):
            if checker == "torch-slow" and b * d > SLOW_MAX_ELEMENTS:
                continue
            marks = [] if (b, d) in BN_QUICK else [pytest.mark.bench_full]
            cases.append(pytest.param("batchnorm", (b, d), checker, id=f"batchnorm-{b}x{d}-{checker}", marks=marks))
    for size in LINEAR_SIZES:
        for checker in ("engine", "torch-fast", "torch-slow"):
            if checker == "torch-slow" and size[0] * size[1] + size[1] * size[2] > SLOW_MAX_ELEMENTS:
                continue
            marks = [] if size in LINEAR_QUICK else [pytest.mark.bench_full]
            sid = "x".join(map(str, size))
            cases.append(pytest.param("linear", size, checker, id=f"linear-{sid}-{checker}", marks=marks))
    return cases


def _setup(layer: str, size: tuple[int, ...]) -> tuple[Any, list[torch.Tensor], dict[str, Any]]:
    if layer == "batchnorm":
        b, d = size
        fn = _function("CustomBatchNormManualFunction")
        inputs = _tensors({"x": (b, d), "gamma": (d,), "beta": (d,)}, {"x": (2.0, 3.0), "gamma": (1.0, 0.1)})
        info = {"size": {"B": b, "D": d}, "size_label": f"B={b}, D={d}", "size_n": b * d}
        return fn, inputs, {**info, "size_axis": "input elements (B·D)"}
    b, n_in, n_out = size
    fn = _function("LinearFunction")
    inputs = _tensors({"x": (b, n_in), "weight": (n_out, n_in), "bias": (n_out,)}, {})
    info = {
        "size": {"B": b, "in": n_in, "out": n_out},
        "size_label": f"B={b}, {n_in}→{n_out}",
        "size_n": b * n_in,
    }
    return fn, inputs, {**info, "size_axis": "input elements (B·in)"}


def _checker(checker: str, fn: Any, inputs: list[torch.Tensor]) -> Callable[[], tuple[bool, int | None]]:
    if checker.startswith("engine"):
        check = _engine_check()
        mode = "directional" if checker == "engine-directional" else "fast"

        def run_engine() -> tuple[bool, int | None]:
            report = check(fn, *inputs, mode=mode, n_directions=N_DIRECTIONS, seed=SEED)
            return bool(report.passed), int(report.n_evals)

        return run_engine
    fast = checker == "torch-fast"

    def run_torch() -> tuple[bool, int | None]:
        ok = torch.autograd.gradcheck(
            lambda *args: fn.apply(*args), tuple(inputs), fast_mode=fast, raise_exception=False
        )
        return bool(ok), None

    return run_torch


def _call_seconds(fn: Any, inputs: list[torch.Tensor]) -> float:
    """Median time of one forward + backward (every input's gradient) of ``fn`` at these inputs."""
    out = fn.apply(*inputs)
    dout = torch.ones_like(out)
    times = []
    for _ in range(7):  # CPU time, the timer of the checks themselves (one thread)
        start = time.process_time()
        torch.autograd.grad(fn.apply(*inputs), inputs, dout)
        times.append(time.process_time() - start)
    return sorted(times)[len(times) // 2]


@pytest.mark.parametrize(("layer", "size", "checker"), _cases())
def test_checking(benchmark: Any, thread_info: dict[str, Any], layer: str, size: tuple[int, ...], checker: str) -> None:
    fn, inputs, info = _setup(layer, size)
    run = _checker(checker, fn, inputs)
    start = time.perf_counter()
    with counting(fn) as calls:
        passed, n_evals = run()
    once = time.perf_counter() - start
    benchmark.group = f"checking {layer} | {info['size_label']} | float64 | cpu"
    benchmark.extra_info.update(
        {
            "kind": "checking",
            "layer": layer,
            "checker": checker,
            **info,
            "dtype": "float64",
            "device": "cpu",
            "passed": passed,
            "n_forward": calls[0],
            "n_evals": n_evals if n_evals is not None else calls[0],
            "n_directions": N_DIRECTIONS if checker.startswith("engine") else None,
            "call_seconds": _call_seconds(fn, inputs),
            **thread_info,
        }
    )
    rounds = max(3, min(50, math.ceil(TARGET_SECONDS / max(once, 1e-9))))
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)
