"""The adapters: NumPy modules (layers, losses, nested parameters), ``autograd.Function``s and ``nn.Module``s
all become one ``OpView`` whose ``forward``/``vjp`` agree with the layer."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import InvalidTarget, LayerError
from gradcheck.view import adapt, describe, find_param_owners

torch = pytest.importorskip("torch")


class Lin:
    def __init__(self):
        self.params = {"W": np.arange(6.0).reshape(3, 2) / 6, "b": np.array([0.5, -0.5])}
        self.grads: dict = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(0)
        return dout @ self.params["W"].T


class Net:
    def __init__(self):
        self.layers = [Lin()]
        self.params: dict = {}
        self.grads: dict = {}

    def forward(self, x):
        return self.layers[0].forward(x)

    def backward(self, dout):
        return self.layers[0].backward(dout)


class MSE:
    def forward(self, x, y):
        return np.mean((x - y) ** 2)

    def backward(self, x, y):
        return 2 * (x - y) / x.size


X = np.random.default_rng(0).standard_normal((4, 3))
C = np.random.default_rng(1).standard_normal((4, 2))


def test_numpy_layer_view():
    layer = Lin()
    view = adapt(layer, (X,))
    assert view.protocol == "numpy" and view.names == ("x", "W", "b")
    assert np.allclose(view.forward(view.point), X @ layer.params["W"] + layer.params["b"])
    g = view.vjp(view.point, C)
    assert np.allclose(g["x"], C @ layer.params["W"].T) and np.allclose(g["W"], X.T @ C)
    moved = {**view.point, "W": view.point["W"] + 1}
    view.forward(moved)
    view.restore()
    assert np.allclose(layer.params["W"], np.arange(6.0).reshape(3, 2) / 6)


def test_nested_parameters_are_found_by_path():
    assert [p for p, _ in find_param_owners(Net())] == ["layers.0."]
    assert adapt(Net(), (X,)).names == ("x", "layers.0.W", "layers.0.b")


def test_loss_view_scales_by_the_scalar_cotangent():
    y = np.zeros_like(X)
    view = adapt(MSE(), (X, y))
    assert view.names == ("x",) and "loss" in view.notes[0]
    assert np.allclose(view.vjp(view.point, np.array(3.0))["x"], 3 * 2 * X / X.size)
    with pytest.raises(LayerError, match=r"expected inputs \(x, y\)"):
        adapt(MSE(), (X,))


class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, k):
        ctx.save_for_backward(x, w)
        ctx.k = k
        return k * x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return ctx.k * g * w, ctx.k * g * x, None


def test_function_view_names_inputs_and_fixes_extras():
    w = torch.ones(4, 3, dtype=torch.float64) * 2
    view = adapt(Scale, (torch.from_numpy(X), w, 3.0))
    assert view.protocol == "torch.Function" and view.names == ("x", "w") and "k=3.0" in view.notes[0]
    assert np.allclose(view.forward(view.point), 6 * X)
    g = view.vjp(view.point, np.ones((4, 3)))
    assert np.allclose(g["x"], 6.0) and np.allclose(g["w"], 3 * X)
    assert view.device == "cpu"


def test_module_view_parameters_by_name():
    torch.manual_seed(0)
    mod = torch.nn.Linear(3, 2).double()
    view = adapt(mod, (torch.from_numpy(X),))
    assert view.names == ("input", "weight", "bias")
    want = X @ mod.weight.detach().numpy().T + mod.bias.detach().numpy()
    assert np.allclose(view.forward(view.point), want)
    g = view.vjp(view.point, C)
    assert np.allclose(g["weight"], C.T @ X) and np.allclose(g["bias"], C.sum(0))


def test_invalid_targets_and_describe():
    with pytest.raises(InvalidTarget, match="pass an instance"):
        adapt(Lin, (X,))
    with pytest.raises(InvalidTarget):
        adapt(object(), (X,))
    assert describe({"x": X, "W": np.zeros((3, 2), np.float32)}) == "x: (4, 3) float64, W: (3, 2) float32"


def test_layer_exceptions_become_layer_errors():
    class Boom(Lin):
        def forward(self, x):
            raise RuntimeError("nope")

    view = adapt(Boom(), (X,))
    with pytest.raises(LayerError, match=r"Boom.forward raised RuntimeError: nope \(called with x: \(4, 3\)"):
        view.forward(view.point)
