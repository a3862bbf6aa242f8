"""Load, train, write: one run from a :class:`TrainConfig` to ``curves.png`` and ``metrics.json``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layers.training.config import TrainConfig
from layers.training.data import Dataset, load_dataset, standardise, subset
from layers.training.history import History, metrics
from layers.training.plots import plot_curves

__all__ = ["RunResult", "prepare_data", "run", "train"]


@dataclass
class RunResult:
    """A finished run: its curves, final numbers (``metrics.json``), the trained model, the files written."""

    history: History
    metrics: dict[str, Any]
    model: Any
    curves_path: Path | None = None
    metrics_path: Path | None = None


def prepare_data(config: TrainConfig, data_dir: str | Path = "data") -> Dataset:
    """Load ``config.dataset``, standardise with the training statistics, keep ``config.subset`` examples."""
    data = standardise(load_dataset(config.dataset, data_dir=data_dir, seed=config.seed))
    return subset(data, config.subset) if config.subset else data


def train(config: TrainConfig, data: Dataset, *, progress: bool = True) -> RunResult:
    """Train ``config.model`` on ``data`` (already standardised) and time it; writes nothing."""
    if config.model == "mlp-numpy":
        from layers.training.numpy_loop import train_numpy_mlp as loop
    else:
        from layers.training.torch_loop import train_torch as loop
    start = time.perf_counter()
    history, model = loop(data, config, progress=progress)
    seconds = time.perf_counter() - start
    record = metrics(history, config, seconds, data.x_train.shape[0], data.x_test.shape[0])
    record["versions"] = _versions(config)
    return RunResult(history, record, model)


def _versions(config: TrainConfig) -> dict[str, str]:
    import platform

    import numpy as np

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    if config.model != "mlp-numpy":
        import torch

        versions["torch"] = torch.__version__
    return versions


def run(
    config: TrainConfig,
    *,
    out_dir: str | Path,
    data_dir: str | Path = "data",
    data: Dataset | None = None,
    progress: bool = True,
) -> RunResult:
    """:func:`train` on ``data`` (default :func:`prepare_data`), then write ``out_dir/curves.png`` and
    ``out_dir/metrics.json``."""
    if data is None:
        data = prepare_data(config, data_dir)
    result = train(config, data, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    custom = ", custom Functions" if config.custom and config.model != "mlp-numpy" else ""
    result.curves_path = plot_curves(result.history, out / "curves.png", f"{config.model} on {config.dataset}{custom}")
    result.metrics_path = out / "metrics.json"
    result.metrics_path.write_text(json.dumps(result.metrics, indent=2) + "\n")
    return result
