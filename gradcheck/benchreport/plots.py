"""PNG plots of the benchmark records: time against size, log-log, one line per implementation and device."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gradcheck.benchreport.report import (
    CHECKER_NAMES,
    CHECKER_ORDER,
    IMPL_NAMES,
    IMPL_ORDER,
    LAYER_ORDER,
    PASS_ORDER,
    Record,
    _ordered,
)

__all__ = ["plot_all", "plot_checking", "plot_layer"]

_COLOURS = {"numpy": "C0", "function": "C1", "autograd": "C2", "torch": "C3"}
_CHECK_COLOURS = {"engine-directional": "C2", "engine": "C1", "torch-fast": "C3", "torch-slow": "C7"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_layer(records: Sequence[Record], layer: str, path: Path) -> bool:
    """One figure for ``layer``: a panel per dtype (rows) and pass (columns); False when nothing to plot."""
    rs = [r for r in records if r.kind == "kernel" and r.layer == layer and r.size_n > 0]
    if not rs:
        return False
    plt = _pyplot()
    dtypes = sorted({r.dtype for r in rs})
    passes = _ordered((r.pass_ for r in rs), PASS_ORDER)
    fig, axes = plt.subplots(
        len(dtypes), len(passes), figsize=(4.2 * len(passes), 3.4 * len(dtypes)), squeeze=False, sharex=True
    )
    for i, dtype in enumerate(dtypes):
        for j, pass_ in enumerate(passes):
            ax = axes[i][j]
            cell = [r for r in rs if r.dtype == dtype and r.pass_ == pass_]
            for impl in _ordered((r.impl for r in cell), IMPL_ORDER):
                for device in sorted({r.device for r in cell if r.impl == impl}):
                    line = sorted((r for r in cell if r.impl == impl and r.device == device), key=lambda r: r.size_n)
                    ax.plot(
                        [r.size_n for r in line],
                        [r.median for r in line],
                        marker="o" if device == "cpu" else "s",
                        linestyle="-" if device == "cpu" else "--",
                        color=_COLOURS.get(impl),
                        label=f"{IMPL_NAMES.get(impl, impl)} ({device})",
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{layer} {pass_}, {dtype}", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
            if j == 0:
                ax.set_ylabel("median time [s]")
            if i == len(dtypes) - 1:
                ax.set_xlabel(rs[0].size_axis, fontsize=8)
            ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _calls_of(r: Record) -> float | None:
    call = r.extra.get("call_seconds")
    return r.median / float(call) if isinstance(call, int | float) and call > 0 else None


_CHECK_PANELS = (
    ("forward calls per check", lambda r: float(r.extra["n_forward"]) if "n_forward" in r.extra else None),
    ("median time per check [s]", lambda r: r.median),
    ("time ÷ one forward + backward", _calls_of),
)


def plot_checking(records: Sequence[Record], path: Path) -> bool:
    """Per checked function (rows): forward calls, time, and time in calls, against the checked size (columns)."""
    rs = [r for r in records if r.kind == "checking" and r.size_n > 0]
    if not rs:
        return False
    plt = _pyplot()
    layers = sorted({r.layer for r in rs})
    fig, axes = plt.subplots(len(layers), 3, figsize=(14, 3.8 * len(layers)), squeeze=False)
    for row, layer in zip(axes, layers, strict=True):
        for ax, (title, value) in zip(row, _CHECK_PANELS, strict=True):
            for checker in _ordered((r.impl for r in rs if r.layer == layer), CHECKER_ORDER):
                line = sorted((r for r in rs if r.layer == layer and r.impl == checker), key=lambda r: r.size_n)
                points = [(r.size_n, v) for r in line if (v := value(r)) is not None]
                if points:
                    ax.plot(
                        [p[0] for p in points],
                        [p[1] for p in points],
                        marker="o",
                        color=_CHECK_COLOURS.get(checker),
                        label=CHECKER_NAMES.get(checker, checker),
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"checking {layer}: {title}", fontsize=9)
            ax.set_xlabel(next(r.size_axis for r in rs if r.layer == layer), fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_lines():
                ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_all(records: Sequence[Record], figures_dir: Path) -> dict[str, Path]:
    """Write ``bench_<layer>.png`` per layer and ``bench_checking.png``; returns what was written, by key."""
    written: dict[str, Path] = {}
    layers = _ordered((r.layer for r in records if r.kind == "kernel"), LAYER_ORDER)
    for layer in layers:
        path = figures_dir / f"bench_{layer}.png"
        if plot_layer(records, layer, path):
            written[layer] = path
    path = figures_dir / "bench_checking.png"
    if plot_checking(records, path):
        written["checking"] = path
    return written
