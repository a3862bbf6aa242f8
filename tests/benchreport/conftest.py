"""Synthetic pytest-benchmark JSON for the report's tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MACHINE = {
    "node": "test",
    "processor": "x86_64",
    "machine": "x86_64",
    "python_version": "3.11.7",
    "system": "Linux",
    "release": "6.0",
    "cpu": {"brand_raw": "Test CPU", "count": 4},
    "gradcheck": {
        "cpu_model": "Test CPU 9000",
        "physical_cores": 2,
        "logical_cpus": 4,
        "numpy_blas": "scipy-openblas 0.3.31",
        "threadpools": [
            {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31", "num_threads": 2,
             "threading_layer": "pthreads", "architecture": "Haswell"},
        ],
        "torch_threads": 2,
        "gpu": {"name": "none", "cuda": None},
        "versions": {"python": "3.11.7", "numpy": "2.4.6", "torch": "2.13.0+cpu", "gradcheck": "0.1.0",
                     "pytest-benchmark": "5.3.1"},
        "quick": True,
        "load_at_start": [0.1, 0.2, 0.3],
        "load_at_end": [1.0, 0.5, 0.3],
    },
}  # fmt: skip


def kernel(
    layer: str,
    impl: str,
    pass_: str,
    size: dict[str, int],
    median: float,
    *,
    iqr_frac: float = 0.05,
    dtype: str = "float32",
    device: str = "cpu",
    label: str | None = None,
) -> dict[str, Any]:
    """One benchmark entry as pytest-benchmark writes it, with our ``extra_info``."""
    label = label or ", ".join(f"{k}={v}" for k, v in size.items())
    n = 1
    for v in size.values():
        n *= v
    name = f"test_kernel[{layer}-{'x'.join(map(str, size.values()))}-{dtype}-{device}-{impl}-{pass_}]"
    return {
        "group": f"{layer} | {label} | {dtype} | {device}",
        "name": name,
        "fullname": f"benchmarks/bench_kernels.py::{name}",
        "params": {},
        "extra_info": {
            "kind": "kernel",
            "layer": layer,
            "impl": impl,
            "pass": pass_,
            "size": size,
            "size_label": label,
            "size_n": n,
            "size_axis": "elements",
            "dtype": dtype,
            "device": device,
            "torch_threads": 2,
            "blas_threads": 2,
        },
        "options": {"timer": "time.process_time", "min_rounds": 5, "max_time": 0.25},
        "stats": _stats(median, iqr_frac),
    }


def checking(
    layer: str, checker: str, size: dict[str, int], median: float, n_evals: int, call_seconds: float | None = None
) -> dict[str, Any]:
    name = f"test_checking[{layer}-{'x'.join(map(str, size.values()))}-{checker}]"
    n = 1
    for v in size.values():
        n *= v
    label = ", ".join(f"{k}={v}" for k, v in size.items())
    return {
        "group": f"checking {layer} | {label} | float64 | cpu",
        "name": name,
        "fullname": f"benchmarks/bench_checking.py::{name}",
        "extra_info": {
            "kind": "checking",
            "layer": layer,
            "checker": checker,
            "size": size,
            "size_label": label,
            "size_n": n,
            "size_axis": "input elements",
            "dtype": "float64",
            "device": "cpu",
            "passed": True,
            "n_forward": n_evals + 2,
            "n_evals": n_evals,
            "n_directions": 4 if checker == "engine" else None,
            **({} if call_seconds is None else {"call_seconds": call_seconds}),
        },
        "stats": _stats(median, 0.05),
    }


def ratio(
    target: str,
    impl_times: list[float],
    ref_times: list[float],
    *,
    unit_times: list[float] | None = None,
    reason: str | None = None,
    kind: str = "ratio",
    **more: Any,
) -> dict[str, Any]:
    """One interleaved target as ``benchmarks/bench_ratios.py`` writes it (``kind="memory"``: peaks in bytes)."""
    name = f"test_ratio[{target}]"
    extra: dict[str, Any] = {"kind": kind, "target": target, "dtype": "float32", "device": "cpu"}
    if reason is not None:
        extra["reason"] = reason
    elif kind == "memory":
        extra.update(impl_peaks=impl_times, ref_peaks=ref_times, method="peak RSS, fresh processes")
    else:
        extra.update(impl_times=impl_times, ref_times=ref_times, calls_per_round=1, timer="time.process_time")
        if unit_times is not None:
            extra.update(unit_times=unit_times, unit_label="one pass over the batch")
    extra.update(more)
    return {
        "group": "targets",
        "name": name,
        "fullname": f"benchmarks/bench_ratios.py::{name}",
        "extra_info": extra,
        "stats": _stats(1.0, 0.0),
    }


def _stats(median: float, iqr_frac: float) -> dict[str, Any]:
    iqr = median * iqr_frac
    return {
        "min": median * 0.9,
        "max": median * 1.2,
        "mean": median,
        "stddev": iqr / 1.35,
        "rounds": 10,
        "median": median,
        "iqr": iqr,
        "q1": median - iqr / 2,
        "q3": median + iqr / 2,
        "iqr_outliers": 0,
        "stddev_outliers": 0,
        "outliers": "0;0",
        "ld15iqr": median * 0.9,
        "hd15iqr": median * 1.2,
        "ops": 1 / median,
        "total": median * 10,
        "iterations": 1,
    }


def document(benchmarks: list[dict[str, Any]], machine_info: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "machine_info": MACHINE if machine_info is None else machine_info,
        "commit_info": {"id": "abc", "dirty": False},
        "benchmarks": benchmarks,
        "datetime": "2026-01-01T00:00:00+00:00",
        "version": "5.3.1",
    }


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[..., Path]:
    """Write a results document (or any JSON value) to a file in ``tmp_path`` and return its path."""

    def write(data: Any, name: str = "bench.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write


class Synth:
    """The builders above, handed to tests as the ``synth`` fixture."""

    kernel = staticmethod(kernel)
    checking = staticmethod(checking)
    ratio = staticmethod(ratio)
    document = staticmethod(document)
    machine = MACHINE


@pytest.fixture
def synth() -> type[Synth]:
    return Synth
