"""Mini-batch SGD for the NumPy MLP (``layers.MLP`` with ``layers.CrossEntropyModule``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from layers.training.config import TrainConfig
from layers.training.data import Dataset, batches, flatten, one_hot
from layers.training.history import History, RunningMean
from layers.training.progress import progress_bar

__all__ = ["param_modules", "sgd_step", "train_numpy_mlp"]


def param_modules(model: Any) -> Iterator[Any]:
    """The leaf modules with ``params`` and ``grads`` dicts, found through ``layers`` lists (depth first).

    A container's own ``params`` are skipped: the course MLP mirrors its sub-modules' arrays there, and
    updating both would apply every step twice.
    """
    subs = getattr(model, "layers", None)
    if subs:
        for sub in subs:
            yield from param_modules(sub)
    elif isinstance(getattr(model, "params", None), dict) and isinstance(getattr(model, "grads", None), dict):
        yield model


def sgd_step(model: Any, lr: float) -> None:
    """``θ ← θ − lr · ∂L/∂θ`` for every parameter of every leaf module, in place (arrays keep their identity).

    Raises:
        ValueError: the model has no module with ``params``/``grads``, or a gradient is missing or misshapen.
    """
    found = False
    for module in param_modules(model):
        for name, theta in module.params.items():
            grad = module.grads.get(name)
            if grad is None or np.shape(grad) != np.shape(theta):
                raise ValueError(
                    f"{type(module).__name__}.grads[{name!r}] should have shape {np.shape(theta)}, "
                    f"got {None if grad is None else np.shape(grad)}; call backward before the update"
                )
            theta -= lr * grad
            found = True
    if not found:
        raise ValueError(
            f"{type(model).__name__} has no parameters: expected sub-modules with params/grads dicts in "
            "a `layers` list attribute"
        )


def _evaluate(mlp: Any, loss_module: Any, x: np.ndarray, y: np.ndarray, y_onehot: np.ndarray) -> tuple[float, float]:
    probs = mlp.forward(x)
    return float(loss_module.forward(probs, y_onehot)), float(np.mean(probs.argmax(axis=1) == y))


def train_numpy_mlp(data: Dataset, config: TrainConfig, *, progress: bool = True) -> tuple[History, Any]:
    """Train ``layers.MLP(n_features, hidden, n_classes)`` with SGD; return the history and the model.

    Each step: probabilities ``p = mlp.forward(x)``, loss ``L = CE(p, y)``, ``mlp.backward(∂L/∂p)``, then
    :func:`sgd_step`. Evaluates on the whole test set every ``config.eval_every`` steps and after the last.
    """
    from layers import MLP, CrossEntropyModule

    init_rng, rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(2))
    x_train, x_test = flatten(data.x_train), flatten(data.x_test)
    yoh_train = one_hot(data.y_train, data.n_classes, x_train.dtype.type)
    yoh_test = one_hot(data.y_test, data.n_classes, x_test.dtype.type)
    mlp = MLP(data.n_features, list(config.hidden), data.n_classes, rng=init_rng)
    loss_module = CrossEntropyModule()

    history, running = History(), RunningMean()
    sampler = batches(x_train.shape[0], config.batch_size, rng)
    with progress_bar(config.steps, config.model, progress) as bar:
        for step in range(1, config.steps + 1):
            idx = next(sampler)
            xb, yb = x_train[idx], yoh_train[idx]
            probs = mlp.forward(xb)
            loss = float(loss_module.forward(probs, yb))
            mlp.backward(loss_module.backward(probs, yb))
            sgd_step(mlp, config.lr)
            running.add(loss, int(np.sum(probs.argmax(axis=1) == data.y_train[idx])), idx.size)
            if step % config.eval_every == 0 or step == config.steps:
                test = _evaluate(mlp, loss_module, x_test, data.y_test, yoh_test)
                history.record(step, running.pop(), test)
                bar.set_postfix(loss=f"{loss:.3f}", test_acc=f"{test[1]:.3f}")
            bar.update()
    return history, mlp
