"""What a training run records: curves at each evaluation, and the final numbers derived from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from layers.training.config import TrainConfig

__all__ = ["History", "RunningMean", "metrics"]


@dataclass
class RunningMean:
    """Mean of the mini-batch losses and accuracies since the last evaluation."""

    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0
    batches: int = 0

    def add(self, loss: float, correct: int, count: int) -> None:
        self.loss_sum += loss
        self.correct += correct
        self.count += count
        self.batches += 1

    def pop(self) -> tuple[float, float]:
        """``(mean batch loss, accuracy)`` since the last call, then reset."""
        out = (self.loss_sum / max(self.batches, 1), self.correct / max(self.count, 1))
        self.loss_sum, self.correct, self.count, self.batches = 0.0, 0, 0, 0
        return out


@dataclass
class History:
    """Curves sampled at each evaluation step.

    Train values are the means over the mini-batches since the previous evaluation (what the optimiser saw);
    test values are over the whole test set.
    """

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def record(self, step: int, train: tuple[float, float], test: tuple[float, float]) -> None:
        self.step.append(step)
        self.train_loss.append(float(train[0]))
        self.train_accuracy.append(float(train[1]))
        self.test_loss.append(float(test[0]))
        self.test_accuracy.append(float(test[1]))

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "step": list(self.step),
            "train_loss": list(self.train_loss),
            "train_accuracy": list(self.train_accuracy),
            "test_loss": list(self.test_loss),
            "test_accuracy": list(self.test_accuracy),
        }


def metrics(history: History, config: TrainConfig, seconds: float, n_train: int, n_test: int) -> dict[str, Any]:
    """The JSON record of a run: final and best test accuracy, final losses, config, wall time, curves."""
    if not history.step:
        raise ValueError("the history is empty: record at least one evaluation before computing metrics")
    best = max(range(len(history.step)), key=lambda i: (history.test_accuracy[i], -i))
    return {
        "model": config.model,
        "dataset": config.dataset,
        "final_test_accuracy": history.test_accuracy[-1],
        "best_test_accuracy": history.test_accuracy[best],
        "best_step": history.step[best],
        "final_train_accuracy": history.train_accuracy[-1],
        "final_train_loss": history.train_loss[-1],
        "final_test_loss": history.test_loss[-1],
        "steps": history.step[-1],
        "seconds": round(seconds, 3),
        "n_train": n_train,
        "n_test": n_test,
        "config": config.to_dict(),
        "history": history.to_dict(),
    }
