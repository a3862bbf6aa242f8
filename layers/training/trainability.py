"""Do a few gradient-descent steps lower the loss? Helpers for the checklist's trainability property."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from layers.training.numpy_loop import sgd_step

if TYPE_CHECKING:
    import torch

__all__ = ["steps_reduce_loss_numpy", "steps_reduce_loss_torch"]


def _validate(lr: float, steps: int) -> None:
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite float > 0, got {lr!r}")


def _cross_entropy(p: np.ndarray, y_onehot: np.ndarray) -> tuple[float, np.ndarray]:
    """``L = −(1/B) Σ_b Σ_c y log p`` and ``∂L/∂p = −y / (B p)``; ``p`` floored at the dtype's tiny."""
    p_safe = np.maximum(p, np.finfo(p.dtype).tiny)
    batch = p.shape[0]
    return float(-np.sum(y_onehot * np.log(p_safe)) / batch), (-y_onehot / (batch * p_safe)).astype(p.dtype)


def steps_reduce_loss_numpy(
    mlp: Any, x: np.ndarray, y_onehot: np.ndarray, *, lr: float, steps: int
) -> tuple[float, float]:
    """Run ``steps`` full-batch SGD steps on a NumPy MLP and return ``(loss_before, loss_after)``.

    The MLP maps ``x`` to probabilities and its ``backward`` takes ``∂L/∂p``; parameters are the ``params``/
    ``grads`` dicts of the modules in its ``layers`` list, updated in place (the MLP is trained). The loss is
    the mean cross-entropy computed here, independently of the project's ``CrossEntropyModule``.

    Raises:
        ValueError: ``steps < 1``, ``lr <= 0``, or the MLP exposes no parameters.

    Example:
        >>> before, after = steps_reduce_loss_numpy(MLP(4, [8], 3), x, y_onehot, lr=0.1, steps=20)
        >>> after < before  # a correct backward; a sign error in a layer makes it False
        True
    """
    _validate(lr, steps)
    loss_before = _cross_entropy(mlp.forward(x), y_onehot)[0]
    for _ in range(steps):
        _, dp = _cross_entropy(mlp.forward(x), y_onehot)
        mlp.backward(dp)
        sgd_step(mlp, lr)
    return loss_before, _cross_entropy(mlp.forward(x), y_onehot)[0]


def steps_reduce_loss_torch(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int
) -> tuple[float, float]:
    """Run ``steps`` full-batch SGD steps on a module returning logits; return ``(loss_before, loss_after)``.

    The loss is ``torch.nn.functional.cross_entropy(model(x), y)`` (``y`` class indices or probabilities),
    in train mode throughout; the parameters are updated in place (the model is trained).

    Raises:
        ValueError: ``steps < 1``, ``lr <= 0``, or the model has no trainable parameters.
    """
    import torch
    import torch.nn.functional as F

    _validate(lr, steps)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters")
    model.train()
    with torch.no_grad():
        loss_before = float(F.cross_entropy(model(x), y))
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p.sub_(p.grad, alpha=lr)
    with torch.no_grad():
        loss_after = float(F.cross_entropy(model(x), y))
    return loss_before, loss_after
