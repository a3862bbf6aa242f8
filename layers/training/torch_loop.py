"""Adam for the PyTorch models (``layers.torch.MLP``, ``layers.torch.ConvNet``): logits and cross-entropy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from layers.training.config import TrainConfig
from layers.training.data import Dataset, batches, flatten
from layers.training.history import History, RunningMean
from layers.training.progress import progress_bar

if TYPE_CHECKING:
    import torch

__all__ = ["build_torch_model", "train_torch"]

EVAL_CHUNK = 1000


def build_torch_model(config: TrainConfig, data: Dataset) -> torch.nn.Module:
    """``MLP(n_features, hidden, n_classes)`` or ``ConvNet(C, n_classes)``, built after seeding torch."""
    import torch

    from layers.torch import MLP, ConvNet

    torch.manual_seed(config.seed)
    if config.model == "mlp-torch":
        return MLP(data.n_features, list(config.hidden), data.n_classes, use_custom=config.custom)
    if config.model == "convnet":
        return ConvNet(data.image_shape[0], data.n_classes, use_custom=config.custom)
    raise ValueError(f"{config.model!r} is not a torch model; pass mlp-torch or convnet")


def _inputs(config: TrainConfig, x: np.ndarray) -> np.ndarray:
    return flatten(x) if config.model == "mlp-torch" else x


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean loss and accuracy in eval mode over near-equal chunks (no chunk of one for a batch-norm layer)."""
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, correct = 0.0, 0
    n_chunks = -(-x.shape[0] // EVAL_CHUNK)
    with torch.no_grad():
        for xc, yc in zip(torch.tensor_split(x, n_chunks), torch.tensor_split(y, n_chunks), strict=True):
            logits = model(xc)
            loss_sum += float(F.cross_entropy(logits, yc, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yc).sum())
    model.train()
    return loss_sum / x.shape[0], correct / x.shape[0]


def train_torch(data: Dataset, config: TrainConfig, *, progress: bool = True) -> tuple[History, Any]:
    """Train the torch model of ``config`` with Adam (lr, betas, weight decay); return history and model.

    The models return logits; the loss is ``torch.nn.functional.cross_entropy`` (mean over the batch).
    Evaluates on the whole test set, in eval mode, every ``config.eval_every`` steps and after the last.
    ``config.threads`` sets torch's intra-op threads for the run (restored afterwards).
    """
    import torch

    if config.threads is None:
        return _train_torch(data, config, progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train_torch(data, config, progress)
    finally:
        torch.set_num_threads(threads)


def _train_torch(data: Dataset, config: TrainConfig, progress: bool) -> tuple[History, Any]:
    import torch
    import torch.nn.functional as F

    device = torch.device(config.device)
    model = build_torch_model(config, data).to(device)
    rng = np.random.default_rng(config.seed)
    x_train = torch.from_numpy(np.ascontiguousarray(_inputs(config, data.x_train))).to(device)
    x_test = torch.from_numpy(np.ascontiguousarray(_inputs(config, data.x_test))).to(device)
    y_train = torch.from_numpy(data.y_train).to(device)
    y_test = torch.from_numpy(data.y_test).to(device)
    # The fused kernel: one pass over all parameters per step (the ConvNet has ~9M), same update rule.
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, fused=True
    )

    model.train()
    history, running = History(), RunningMean()
    sampler = batches(x_train.shape[0], config.batch_size, rng)
    with progress_bar(config.steps, config.model, progress) as bar:
        for step in range(1, config.steps + 1):
            idx = torch.from_numpy(next(sampler)).to(device)
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running.add(loss.item(), int((logits.argmax(dim=1) == yb).sum()), int(idx.numel()))
            if step % config.eval_every == 0 or step == config.steps:
                test = _evaluate(model, x_test, y_test)
                history.record(step, running.pop(), test)
                bar.set_postfix(loss=f"{loss.item():.3f}", test_acc=f"{test[1]:.3f}")
            bar.update()
    return history, model
