"""What the benchmarks ran on: CPU, cores, BLAS, GPU, thread counts and versions.

:func:`collect` runs inside the benchmark session (``benchmarks/conftest.py`` stores its result under
``machine_info["gradcheck"]`` of the pytest-benchmark JSON); :func:`describe` renders that record, so the
report describes the machine that produced the numbers, not the one that renders them.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any

__all__ = ["collect", "describe", "load_average", "set_threads"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _physical_cores() -> int | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    cores: set[tuple[str, str]] = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores) or None


def _version(module: str, dist: str | None = None) -> str:
    mod = sys.modules.get(module)
    version = getattr(mod, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return metadata.version(dist or module)
    except metadata.PackageNotFoundError:
        return "not installed"


def _numpy_blas() -> str:
    try:
        import numpy as np

        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # old NumPy or an unusual build: the report says so instead of failing
        return "unknown"


def _threadpools() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{k: pool.get(k) for k in keep} for pool in threadpool_info()]


def _gpu() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"name": "none", "cuda": None}
    if not torch.cuda.is_available():
        return {"name": "none", "cuda": torch.version.cuda}
    return {"name": torch.cuda.get_device_name(0), "cuda": torch.version.cuda}


def set_threads(n: int) -> None:
    """Use ``n`` threads in torch's intra-op pool and in NumPy's BLAS (via threadpoolctl when installed)."""
    import torch

    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n, user_api="blas")


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the platform has none."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def collect(**extra: Any) -> dict[str, Any]:
    """Describe this machine and process: CPU, cores, BLAS and thread pools, GPU, versions, torch threads.

    ``extra`` entries (e.g. ``quick=True``, ``load_at_start=[...]``) are stored as given.
    """
    import numpy as np
    import torch

    info: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "physical_cores": _physical_cores(),
        "logical_cpus": os.cpu_count(),
        "numpy_blas": _numpy_blas(),
        "threadpools": _threadpools(),
        "load_at_end": load_average(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "gpu": _gpu(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "gradcheck": _version("gradcheck"),
            "pytest-benchmark": _version("pytest_benchmark", "pytest-benchmark"),
        },
    }
    info.update(extra)
    return info


def _cell(value: Any) -> str:
    return "not recorded" if value is None or value == "" else str(value)


def describe(machine_info: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Render pytest-benchmark's ``machine_info`` (and our ``gradcheck`` record in it) as (field, value)."""
    ours: Mapping[str, Any] = machine_info.get("gradcheck") or {}
    cpu: Mapping[str, Any] = machine_info.get("cpu") or {}
    model = ours.get("cpu_model") or cpu.get("brand_raw") or machine_info.get("processor")
    logical = ours.get("logical_cpus") or cpu.get("count")
    rows = [
        ("CPU", _cell(model)),
        ("cores / threads", f"{_cell(ours.get('physical_cores'))} physical / {_cell(logical)} logical"),
        ("system", _cell(" ".join(str(machine_info.get(k, "")) for k in ("system", "release")).strip())),
        ("NumPy BLAS", _cell(ours.get("numpy_blas"))),
    ]
    pools = ours.get("threadpools") or []
    if pools:
        text = "; ".join(
            f"{p.get('internal_api')}{' ' + str(p['version']) if p.get('version') else ''} "
            f"({p.get('user_api')}, {p.get('num_threads')} threads"
            + (f", {p['threading_layer']}" if p.get("threading_layer") else "")
            + ")"
            for p in pools
        )
        rows.append(("thread pools (threadpoolctl)", text))
    rows.append(("torch threads", _cell(ours.get("torch_threads"))))
    start, end = ours.get("load_at_start"), ours.get("load_at_end")
    if start or end:
        text = f"{start[0] if start else '?'} at start, {end[0] if end else '?'} at end"
        if start and logical and start[0] > 0.5 * float(logical):
            text += " — other work was running: expect noisier timings"
        rows.append(("load average (1 min)", text))
    gpu: Mapping[str, Any] = ours.get("gpu") or {}
    gpu_name = _cell(gpu.get("name"))
    if gpu.get("name") not in (None, "none") and gpu.get("cuda"):
        gpu_name += f" (CUDA {gpu['cuda']})"
    rows.append(("GPU", gpu_name))
    versions: Mapping[str, Any] = ours.get("versions") or {}
    python = versions.get("python") or machine_info.get("python_version")
    rows.append(
        (
            "versions",
            ", ".join(
                f"{name} {_cell(value)}"
                for name, value in [
                    ("Python", python),
                    ("NumPy", versions.get("numpy")),
                    ("torch", versions.get("torch")),
                    ("gradcheck", versions.get("gradcheck")),
                    ("pytest-benchmark", versions.get("pytest-benchmark")),
                ]
            ),
        )
    )
    if "quick" in ours:
        rows.append(("size selection", "quick (--bench-quick)" if ours["quick"] else "full"))
    return rows
