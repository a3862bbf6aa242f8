from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from layers import MLP
from layers.training import steps_reduce_loss_numpy, steps_reduce_loss_torch
from layers.training.data import one_hot


def _blobs(seed: int = 0, n: int = 60, d: int = 5, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, size=n)
    x = rng.normal(size=(n, d)) + 2.0 * np.eye(c, d)[y]
    return x, y


def _mlp(seed: int = 0, hidden: int = 16) -> MLP:
    """The course MLP with weights of std 0.3 instead of 1e-4, so that a few steps already move the loss."""
    rng = np.random.default_rng(seed)
    mlp = MLP(5, [hidden], 3, rng=rng)
    for layer in mlp.layers:
        if "weight" in layer.params:
            layer.params["weight"][...] = rng.normal(0.0, 0.3, layer.params["weight"].shape)
    return mlp


def test_numpy_mlp_loss_decreases() -> None:
    x, y = _blobs()
    before, after = steps_reduce_loss_numpy(_mlp(), x, one_hot(y, 3, np.float64), lr=0.5, steps=30)
    assert after < 0.5 * before


def test_numpy_course_initialisation_starts_at_log_c() -> None:
    x, y = _blobs()
    mlp = MLP(5, [16], 3, rng=np.random.default_rng(0))
    before, after = steps_reduce_loss_numpy(mlp, x, one_hot(y, 3, np.float64), lr=0.5, steps=5)
    assert before == pytest.approx(np.log(3), rel=1e-3) and after < before


class _SignFlipped:
    """The MLP with its gradients negated: gradient ascent, which the property must catch."""

    def __init__(self, mlp: MLP) -> None:
        self.mlp, self.layers = mlp, mlp.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.mlp.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = self.mlp.backward(dout)
        for layer in self.layers:
            for g in layer.grads.values():
                g *= -1
        return dx


def test_numpy_sign_error_does_not_decrease() -> None:
    x, y = _blobs()
    bad = _SignFlipped(_mlp())
    before, after = steps_reduce_loss_numpy(bad, x, one_hot(y, 3, np.float64), lr=0.5, steps=30)
    assert after > before


def test_numpy_updates_each_parameter_once() -> None:
    x, y = _blobs()
    mlp = _mlp(hidden=4)
    w0 = mlp.layers[0].params["weight"].copy()
    steps_reduce_loss_numpy(mlp, x, one_hot(y, 3, np.float64), lr=0.1, steps=1)
    # The update is lr · grad from the first forward/backward (the MLP also mirrors params: no double step).
    mlp_ref = _mlp(hidden=4)
    p = mlp_ref.forward(x)
    mlp_ref.backward(-one_hot(y, 3, np.float64) / (x.shape[0] * p))
    np.testing.assert_allclose(mlp.layers[0].params["weight"], w0 - 0.1 * mlp_ref.layers[0].grads["weight"])


@pytest.mark.parametrize(("kwargs", "match"), [({"lr": 0.1, "steps": 0}, "steps"), ({"lr": -1.0, "steps": 1}, "lr")])
def test_numpy_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    x, y = _blobs()
    with pytest.raises(ValueError, match=match):
        steps_reduce_loss_numpy(MLP(5, [4], 3), x, one_hot(y, 3, np.float64), **kwargs)


def test_numpy_model_without_parameters_is_a_value_error() -> None:
    class NoParams:
        layers: ClassVar[list] = []

        def forward(self, x: np.ndarray) -> np.ndarray:
            return np.full((x.shape[0], 3), 1 / 3)

        def backward(self, dout: np.ndarray) -> np.ndarray:
            return dout

    x, y = _blobs()
    with pytest.raises(ValueError, match="has no parameters"):
        steps_reduce_loss_numpy(NoParams(), x, one_hot(y, 3, np.float64), lr=0.1, steps=1)


@pytest.mark.parametrize("custom", [False, True], ids=["builtin", "custom"])
def test_torch_mlp_loss_decreases(custom: bool) -> None:
    import torch

    from layers.torch import MLP as TorchMLP

    x, y = _blobs()
    torch.manual_seed(0)
    model = TorchMLP(5, [16], 3, use_custom=custom)
    before, after = steps_reduce_loss_torch(model, torch.from_numpy(x).float(), torch.from_numpy(y), lr=0.5, steps=30)
    assert after < 0.5 * before


def test_torch_rejects_a_model_without_parameters() -> None:
    import torch

    with pytest.raises(ValueError, match="no trainable parameters"):
        steps_reduce_loss_torch(torch.nn.Identity(), torch.zeros(2, 3), torch.tensor([0, 1]), lr=0.1, steps=1)
