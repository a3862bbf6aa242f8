"""Loss and accuracy curves (train and test) against the step, in two panels."""

from __future__ import annotations

from pathlib import Path

from layers.training.history import History

__all__ = ["plot_curves"]


def plot_curves(history: History, path: str | Path, title: str = "") -> Path:
    """Write ``path`` (PNG): left panel loss, right panel accuracy, train and test each, against the step.

    Uses a bare ``matplotlib.figure.Figure`` (no pyplot), so no backend or global state is touched.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(history.step, getattr(history, f"train_{key}"), marker=".", label="train (batches)")
        ax.plot(history.step, getattr(history, f"test_{key}"), marker=".", label="test")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1.02)
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
