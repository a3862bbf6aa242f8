"""The adapters: NumPy modules (layers, losses, nested parameters), ``autograd.Function``s and ``nn.Module``s
all become one ``OpView`` whose ``forward``/``vjp`` agree with the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradcheck import InvalidTarget, LayerError
from gradcheck.view import adapt, describe, find_param_owners


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


# --- the user's code: whatever it raises is the layer's, located in its file; Ctrl-C passes -------------------


def _line(fn, text: str) -> int:
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


@pytest.mark.parametrize("code", [0, 3, None, "bye"])
def test_exit_in_the_layer_is_a_located_layer_error(code):
    import sys

    class Quits(Lin):
        def backward(self, dout):
            sys.exit(code)

    view = adapt(Quits(), (X,))
    with pytest.raises(LayerError) as info:
        view.vjp(view.point, C)
    fault = info.value.fault
    assert (fault.layer, fault.call, fault.exc_type) == ("Quits", "backward", "SystemExit")
    assert fault.file == __file__ and fault.line == _line(Quits.backward, "sys.exit(code)")
    assert fault.source == "sys.exit(code)"
    assert fault.message == ("exit() was called" if code is None else f"exit({code!r}) was called")


def test_keyboard_interrupt_passes_and_other_base_exceptions_do_not():
    from gradcheck.view.base import call_layer

    class Odd(BaseException):
        pass

    def interrupted():
        raise KeyboardInterrupt

    def odd():
        raise Odd("strange")

    with pytest.raises(KeyboardInterrupt):
        call_layer("L", "forward", interrupted)
    with pytest.raises(LayerError, match=r"L\.forward raised Odd: strange") as info:
        call_layer("L", "forward", odd)
    assert info.value.fault.line == _line(odd, 'raise Odd("strange")')


def test_the_innermost_frame_in_the_users_file_is_found_below_numpy_and_above_the_harness():
    from gradcheck.view.base import call_layer

    def singular(x):
        return np.linalg.inv(np.zeros((2, 2))) @ x  # raises inside numpy's own Python code

    with pytest.raises(LayerError) as info:
        call_layer("L", "forward", singular, X, context="x: (4, 3)")
    fault = info.value.fault
    assert fault.exc_type == "LinAlgError" and fault.context == "x: (4, 3)"
    assert fault.line == _line(singular, "np.linalg.inv") and fault.source.startswith("return np.linalg.inv")


def test_an_exception_whose_message_cannot_be_printed_is_still_reported():
    from gradcheck.view.base import call_layer

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def f():
        raise Unprintable

    with pytest.raises(LayerError, match="Unprintable whose message cannot be printed"):
        call_layer("L", "forward", f)


def test_a_functions_backward_run_by_autograd_is_located_through_user_code():
    from gradcheck.view.base import user_code

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * undefined_scale  # noqa: F821 - the student's bug

    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(LayerError) as info, user_code("Fn", "backward"):
        torch.autograd.grad(Fn.apply(x).sum(), [x])
    fault = info.value.fault
    assert (fault.call, fault.exc_type) == ("backward", "NameError")
    assert fault.file == __file__ and fault.line == _line(Fn.backward, "undefined_scale")


def test_a_gradient_of_the_wrong_shape_is_the_layers_error():
    class Flat(Lin):
        def backward(self, dout):
            super().backward(dout)
            return (dout @ self.params["W"].T).sum(0)

    view = adapt(Flat(), (X,))
    with pytest.raises(
        LayerError, match=r"Flat.backward returned a gradient for x of shape \(3,\); x has shape \(4, 3\)"
    ):
        view.vjp(view.point, C)


def test_unit_dimensions_in_a_gradient_are_reshaped_away():
    class Row(Lin):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = self.grads["b"].reshape(1, -1)  # (1, 2) for a (2,) bias: the same numbers
            return dx

    view = adapt(Row(), (X,))
    assert view.vjp(view.point, C)["b"].shape == (2,)
