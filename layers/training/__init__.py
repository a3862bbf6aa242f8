"""Training the verified layers on digits or CIFAR-10 and drawing their curves (issue 7).

``python -m layers.training MODEL`` (or ``gradcheck train MODEL``) trains ``mlp-numpy``, ``mlp-torch`` or
``convnet`` and writes ``curves.png`` and ``metrics.json``; :func:`steps_reduce_loss_numpy` and
:func:`steps_reduce_loss_torch` serve the checklist's trainability property. torch, scikit-learn,
matplotlib and tqdm are imported only when used.
"""

from __future__ import annotations

from layers.training.cli import main
from layers.training.config import MODELS, TrainConfig, default_config
from layers.training.data import Dataset, DatasetNotFoundError, load_cifar10, load_dataset, load_digits
from layers.training.run import RunResult, prepare_data, run, train
from layers.training.trainability import steps_reduce_loss_numpy, steps_reduce_loss_torch

__all__ = [
    "MODELS",
    "Dataset",
    "DatasetNotFoundError",
    "RunResult",
    "TrainConfig",
    "default_config",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "main",
    "prepare_data",
    "run",
    "steps_reduce_loss_numpy",
    "steps_reduce_loss_torch",
    "train",
]
