"""pytest configuration for the benchmarks (pytest-benchmark), kept out of the main suite (testpaths = tests).

Run with ``pytest benchmarks [--bench-quick] --benchmark-json=out/bench.json``. This conftest collects the
``bench_*.py`` files itself, so no ``-o python_files=...`` is needed (passing it as well is harmless).

Options:
    --bench-quick (or GRADCHECK_BENCH_QUICK=1): the realistic sizes that the targets name plus one small
        size, with ``--benchmark-max-time`` lowered to 0.25 s unless given, and 15 interleaved rounds per
        target (31 otherwise, ``bench_ratios.py``); the run takes a few minutes.
    --bench-threads N (or GRADCHECK_BENCH_THREADS=N): torch intra-op threads and BLAS threads, recorded in
        every benchmark's ``extra_info`` and in ``machine_info``. Default 1: both sides then run on one core,
        so a ratio compares kernels rather than thread pools (NumPy's elementwise code is single-threaded,
        torch's is not), and timings stay stable on a shared machine, where idle OpenMP threads wait for a
        scheduler tick. Pass 0 for one thread per physical core.

Timer: with one thread, and unless ``--benchmark-timer`` is given, CPU benchmarks are timed with
``time.process_time`` (the CPU time of this process): on a shared machine it leaves out the time the
process waits for a core, which wall-clock medians do not. With more threads the wall clock is used (CPU
time would sum the threads). CUDA benchmarks always use ``time.perf_counter`` (a marker on each), with
``torch.cuda.synchronize()`` inside the timed function. The timer of each benchmark is in the JSON
(``options.timer``) and in the report.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from gradcheck.benchreport import machine  # noqa: E402

QUICK_MAX_TIME = 0.25
CPU_TIMER = "time.process_time"
LOAD_AT_START = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck benchmarks")
    group.addoption(
        "--bench-quick",
        action="store_true",
        default=os.environ.get("GRADCHECK_BENCH_QUICK", "") not in ("", "0"),
        help="only the sizes the targets name plus one small size (env GRADCHECK_BENCH_QUICK=1)",
    )
    group.addoption(
        "--bench-threads",
        type=int,
        default=int(os.environ.get("GRADCHECK_BENCH_THREADS", "1")),
        help="torch and BLAS threads (env GRADCHECK_BENCH_THREADS; default 1; 0: one per physical core)",
    )


def _threads(config: pytest.Config) -> int:
    n = int(config.getoption("--bench-threads"))
    return n if n > 0 else (machine.collect()["physical_cores"] or os.cpu_count() or 1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench_full: a size measured only without --bench-quick")
    config.addinivalue_line("markers", "cuda: needs a CUDA device")
    config.stash[LOAD_AT_START] = machine.load_average()
    threads = _threads(config)
    machine.set_threads(threads)
    args = [str(a) for a in config.invocation_params.args]
    if not hasattr(config.option, "benchmark_max_time"):
        return  # pytest-benchmark is not loaded (-p no:benchmark)
    if config.getoption("--bench-quick") and not any(a.startswith("--benchmark-max-time") for a in args):
        config.option.benchmark_max_time = QUICK_MAX_TIME
    if threads == 1 and not any(a.startswith("--benchmark-timer") for a in args):
        config.option.benchmark_timer = CPU_TIMER


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix != ".py" or not fnmatch.fnmatch(file_path.name, "bench_*.py"):
        return None
    patterns = parent.config.getini("python_files")
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return None  # the python plugin collects it (named on the command line, or -o python_files=...)
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--bench-quick"):
        return
    keep = [item for item in items if item.get_closest_marker("bench_full") is None]
    dropped = [item for item in items if item.get_closest_marker("bench_full") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["gradcheck"] = machine.collect(
        quick=bool(config.getoption("--bench-quick")), load_at_start=config.stash.get(LOAD_AT_START, None)
    )


@pytest.fixture(scope="session")
def thread_info() -> dict[str, Any]:
    """Thread counts to store in each benchmark's ``extra_info``."""
    import torch

    info: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    pools = machine.collect()["threadpools"]
    blas = [p["num_threads"] for p in pools if p.get("user_api") == "blas"]
    info["blas_threads"] = blas[0] if blas else None
    return info
