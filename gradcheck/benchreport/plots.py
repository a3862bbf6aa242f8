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
_CHECK_COLOURS = {"engine": "C1", "torch-fast": "C3", "torch-slow": "C7"}


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


def plot_checking(records: Sequence[Record], path: Path) -> bool:
    """Time of each checker against the number of checked elements, one panel per checked function."""
    rs = [r for r in records if r.kind == "checking" and r.size_n > 0]
    if not rs:
        return False
    plt = _pyplot()
    layers = sorted({r.layer for r in rs})
    fig, axes = plt.subplots(1, len(layers), figsize=(5 * len(layers), 3.8), squeeze=False)
    for ax, layer in zip(axes[0], layers, strict=True):
        for checker in _ordered((r.impl for r in rs if r.layer == layer), CHECKER_ORDER):
            line = sorted((r for r in rs if r.layer == layer and r.impl == checker), key=lambda r: r.size_n)
            ax.plot(
                [r.size_n for r in line],
                [r.median for r in line],
                marker="o",
                color=_CHECK_COLOURS.get(checker),
                label=CHECKER_NAMES.get(checker, checker),
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"checking {layer}", fontsize=10)
        ax.set_xlabel(next(r.size_axis for r in rs if r.layer == layer), fontsize=8)
        ax.set_ylabel("median time [s]")
        ax.grid(True, which="both", alpha=0.3)
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
