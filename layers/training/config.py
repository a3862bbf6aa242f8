"""Run configurations: the course's CIFAR-10 defaults and this project's digits defaults, in one table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MODELS", "TORCH_MODELS", "TrainConfig", "default_config"]

MODELS = ("mlp-numpy", "mlp-torch", "convnet")
TORCH_MODELS = ("mlp-torch", "convnet")


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    ``hidden`` is ignored by the ConvNet; ``weight_decay``, ``betas``, ``custom``, ``device`` and ``threads``
    (torch's intra-op threads, None for torch's default) apply to the torch models (the NumPy MLP is trained
    with plain SGD).
    """

    model: str
    dataset: str = "digits"
    steps: int = 1500
    batch_size: int = 200
    lr: float = 2e-3
    eval_every: int = 100
    hidden: tuple[int, ...] = (100,)
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    seed: int = 42
    custom: bool = False
    device: str = "cpu"
    subset: int | None = None
    threads: int | None = None
    optimizer: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "optimizer", "sgd" if self.model == "mlp-numpy" else "adam")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (tuples as lists), without the fields the model does not use."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["betas"] = list(self.betas)
        unused = {"mlp-numpy": ("weight_decay", "betas", "custom", "device", "threads"), "convnet": ("hidden",)}
        for key in unused.get(self.model, ()):
            del d[key]
        return d


# The course's defaults on CIFAR-10 (assignment 1: the NumPy MLP with SGD; the PyTorch MLP with the settings
# the report found best; the ConvNet with Adam), and short runs on digits chosen so that each finishes in
# about a minute or less on a 2-core CPU (docs/training.md gives the measured accuracies).
_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("mlp-numpy", "cifar10"): dict(steps=1500, batch_size=200, lr=2e-3, eval_every=100, hidden=(100,)),
    ("mlp-torch", "cifar10"): dict(
        steps=5000, batch_size=500, lr=1e-4, eval_every=100, hidden=(1000, 1000), weight_decay=0.01,
        betas=(0.75, 0.999),
    ),
    ("convnet", "cifar10"): dict(steps=5000, batch_size=32, lr=1e-4, eval_every=500),
    ("mlp-numpy", "digits"): dict(steps=1500, batch_size=200, lr=0.1, eval_every=100, hidden=(100,)),
    ("mlp-torch", "digits"): dict(
        steps=500, batch_size=200, lr=1e-3, eval_every=25, hidden=(100, 100), weight_decay=0.0,
        betas=(0.9, 0.999),
    ),
    ("convnet", "digits"): dict(steps=200, batch_size=32, lr=1e-4, eval_every=20),
}  # fmt: skip


def default_config(model: str, dataset: str = "digits") -> TrainConfig:
    """The defaults for ``model`` on ``dataset``.

    Raises:
        ValueError: unknown model or data set (the message lists the valid names).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; pass one of {', '.join(MODELS)}")
    if (model, dataset) not in _DEFAULTS:
        raise ValueError(f"unknown dataset {dataset!r}; pass digits or cifar10")
    return TrainConfig(model=model, dataset=dataset, **_DEFAULTS[(model, dataset)])
