"""What the layer receives is its own: purity snapshots from before the forward, no memory shared with the
harness's arrays, forward/backward split across instances, parameters rebound as a training loop does, and
sub-modules found wherever they are kept."""

from __future__ import annotations

import numpy as np
import torch

from gradcheck.checklist.layout import detect_layout
from gradcheck.view import adapt, find_param_owners

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))


class CentresInPlace(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x -= x.mean(dim=1, keepdim=True)  # the mistake: the caller's tensor is centred
        return x * 2

    @staticmethod
    def backward(ctx, dout):
        return dout * 2


class ScalesGradOutputInPlace(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, dout):
        return dout.mul_(2)  # the mistake: grad_output changed in place


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, dout):
        return dout * 2


def test_a_forward_that_mutates_its_input_is_seen_and_never_reaches_the_harness_arrays() -> None:
    view = adapt(CentresInPlace, (X.copy(),))
    values = {"x": X.copy()}
    view.forward(values)
    view.vjp(values, np.ones((3, 4)))
    np.testing.assert_array_equal(values["x"], X)  # the harness's own array is untouched
    found = view.probe_purity(values, np.ones((3, 4)))
    assert any("forward modified" in f for f in found), found


def test_a_backward_that_mutates_grad_output_is_seen_and_the_cotangent_is_fresh() -> None:
    view = adapt(ScalesGradOutputInPlace, (X.copy(),))
    cot = RNG.standard_normal((3, 4))
    keep = cot.copy()
    view.vjp({"x": X.copy()}, cot)
    np.testing.assert_array_equal(cot, keep)
    assert view.probe_purity({"x": X.copy()}, cot) == ["backward modified grad_output in place"]


def test_a_pure_function_has_no_findings() -> None:
    assert adapt(Double, (X.copy(),)).probe_purity({"x": X.copy()}, np.ones((3, 4))) == []


class ShiftsWeightInPlace(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))

    def forward(self, x):
        with torch.no_grad():
            self.weight.add_(1)  # the mistake
        return x * self.weight


def test_a_module_that_writes_its_parameter_in_forward_is_seen() -> None:
    view = adapt(ShiftsWeightInPlace(), (X.copy(),))
    found = view.probe_purity({"input": X.copy(), "weight": np.ones(4)}, np.ones((3, 4)))
    assert any("'weight'" in f and "forward" in f for f in found), found


# --- NumPy modules ---------------------------------------------------------------------------------------------


class Lin:
    def __init__(self, n_in, n_out, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.standard_normal((n_in, n_out)), "b": np.zeros(n_out)}
        self.grads: dict = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(0)
        return dout @ self.params["W"].T


class Captures(Lin):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out)
        self.W = self.params["W"]

    def forward(self, x):
        self.x = x
        return x @ self.W + self.params["b"]


class Act:
    def forward(self, x):
        return x

    def backward(self, dout):
        return dout


class Deep:
    """Sub-modules in a list of tuples, a dict of lists and an attribute; a cycle back to itself."""

    def __init__(self):
        self.blocks = [(Lin(2, 3, 1), Act()), (Lin(3, 3, 2), Act())]
        self.heads = {"out": [Lin(3, 1, 3)]}
        self.me = self
        self.kind = Lin  # a class, not a module

    def forward(self, x):
        for m in (self.blocks[0][0], self.blocks[1][0], self.heads["out"][0]):
            x = m.forward(x)
        return x

    def backward(self, dout):
        for m in (self.heads["out"][0], self.blocks[1][0], self.blocks[0][0]):
            dout = m.backward(dout)
        return dout


def test_sub_modules_are_found_in_tuples_dicts_and_lists_at_any_depth_once() -> None:
    prefixes = [p for p, _ in find_param_owners(Deep())]
    assert prefixes == ["blocks.0.0.", "blocks.1.0.", "heads.out.0."]
    view = adapt(Deep(), (RNG.standard_normal((2, 2)),))
    assert set(view.param_names) == {f"{p}{k}" for p in prefixes for k in ("W", "b")}


def test_split_lets_two_instances_interleave() -> None:
    a, b = adapt(Lin(4, 2, 1), (X,)), adapt(Lin(4, 3, 2), (X,))
    out_a, back_a = a.split(a.point)
    out_b, back_b = b.split(b.point)
    cot_a, cot_b = np.ones_like(out_a), np.ones_like(out_b)
    np.testing.assert_allclose(back_a(cot_a)["W"], a.vjp(a.point, cot_a)["W"])
    np.testing.assert_allclose(back_b(cot_b)["x"], b.vjp(b.point, cot_b)["x"])


def test_a_rebound_parameter_is_used_unless_the_layer_captured_it() -> None:
    moved = {"W": np.full((4, 2), 0.5), "b": np.ones(2)}
    for cls, stale in ((Lin, False), (Captures, True)):
        view = adapt(cls(4, 2), (X,))
        view.forward(view.point)
        out, _ = view.probe_rebind({"x": X, **moved}, np.ones((3, 2)))
        assert np.allclose(out, X @ moved["W"] + moved["b"]) != stale, cls.__name__


# --- layouts ---------------------------------------------------------------------------------------------------


def _layout(canonical: dict, found: dict) -> list[str]:
    return detect_layout(canonical, found, lambda layout: 0.0, "layer").describe()


def test_greek_and_underscore_names_are_read_as_gamma_and_beta_whatever_their_order() -> None:
    for g, b in (("γ", "β"), ("_g", "_b"), ("Γ", "Β")):
        layout = detect_layout({"gamma": (3,), "beta": (3,)}, {b: (3,), g: (3,)}, lambda layout: 0.0, "bn")
        assert layout.placements["gamma"].name == g and layout.placements["beta"].name == b


def test_layout_notes_are_one_per_sub_layer_and_never_guess_an_orientation() -> None:
    canonical = {"linear0.weight": (3, 2), "linear0.bias": (3,), "linear1.weight": (1, 3), "linear1.bias": (1,)}
    found = {"layers.0.W": (2, 3), "layers.0.b": (3, 1), "layers.2.W": (3, 1), "layers.2.b": (1, 1)}
    assert _layout(canonical, found) == [
        "parameter layout of layers.0: weight as W, transposed; bias as b, shape (n, 1)"
    ]


class ZeroesDoutInPlace(Lin):
    def backward(self, dout):
        dx = super().backward(dout)
        dout[...] = 0  # the mistake
        return dx


def test_a_numpy_backward_that_mutates_dout_never_reaches_the_harness_cotangent() -> None:
    view = adapt(ZeroesDoutInPlace(4, 2), (X,))
    cot = RNG.standard_normal((3, 2))
    keep = cot.copy()
    view.vjp(view.point, cot)
    np.testing.assert_array_equal(cot, keep)
    assert "backward modified the upstream gradient dout in place" in view.probe_purity(view.point, cot)


def test_a_flat_dict_of_numbered_parameters_is_read_layer_by_layer() -> None:
    canonical = {"linear0.weight": (3, 2), "linear0.bias": (3,), "linear1.weight": (4, 3), "linear1.bias": (4,)}
    found = {"b1": (1, 3), "W1": (2, 3), "b2": (1, 4), "W2": (3, 4)}
    layout = detect_layout(canonical, found, lambda layout: 0.0, "mlp")
    assert [p.name for p in layout.placements.values()] == ["W1", "b1", "W2", "b2"]
    assert layout.describe() == [
        "parameter layout: weight as W1, transposed; bias as b1, shape (1, n)",
        "parameter layout: weight as W2, transposed; bias as b2, shape (1, n)",
    ]
