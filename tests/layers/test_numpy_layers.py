"""Tests of :mod:`layers.numpy` against PyTorch autograd: values, gradients, dtypes, side effects and errors.

Each layer is declared once as a :class:`Case` (constructor, input shape, PyTorch oracle); the generic tests
below run every case. The oracle is evaluated in float64 on the same (possibly float32-rounded) inputs and
parameters, so a float32 result is compared with the exact answer at a float32 tolerance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import layers.numpy as numpy_layers
from layers.numpy import (
    MLP,
    BatchNormModule,
    Conv2dModule,
    CrossEntropyModule,
    ELUModule,
    LeakyReLUModule,
    LinearModule,
    MaxPool2dModule,
    ReLUModule,
    SoftMaxModule,
)

DTYPES = [np.float64, np.float32]

# rtol is the dtype's unit roundoff times the error growth of a few hundred summed terms; atol (scaled by the
# largest reference magnitude, see ``assert_close``) covers elements that cancel to ~0.
TOLERANCE = {np.float64: (1e-10, 1e-12), np.float32: (2e-4, 2e-5)}

Oracle = Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class Case:
    """One layer configuration: how to build it, its input shape and its PyTorch oracle."""

    id: str
    make: Callable[[], Any]
    x_shape: tuple[int, ...]
    oracle: Oracle
    kinks: bool = False  # put exact zeros in x to pin the gradient convention at the kink
    tags: frozenset[str] = field(default_factory=frozenset)


def _mlp_oracle(n_linear: int) -> Oracle:
    def oracle(x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
        for j in range(n_linear):
            x = F.linear(x, p[f"layers.{2 * j}.weight"], p[f"layers.{2 * j}.bias"])
            x = x if j == n_linear - 1 else F.relu(x)
        return F.softmax(x, dim=1)

    return oracle


def _conv(c: int, o: int, k: int, s: int, pad: int, hw: tuple[int, int]) -> Case:
    return Case(
        f"conv2d-c{c}o{o}k{k}s{s}p{pad}-{hw[0]}x{hw[1]}",
        lambda: Conv2dModule(c, o, k, stride=s, padding=pad),
        (2, c, *hw),
        lambda x, p: F.conv2d(x, p["weight"], p["bias"], stride=s, padding=pad),
    )


def _pool(k: int, s: int | None, pad: int, hw: tuple[int, int]) -> Case:
    return Case(
        f"maxpool2d-k{k}s{s}p{pad}-{hw[0]}x{hw[1]}",
        lambda: MaxPool2dModule(k, stride=s, padding=pad),
        (2, 3, *hw),
        lambda x, p: F.max_pool2d(x, k, stride=s, padding=pad),
    )


CASES = [
    Case("linear", lambda: LinearModule(5, 3), (4, 5), lambda x, p: F.linear(x, p["weight"], p["bias"])),
    Case("linear-b1", lambda: LinearModule(2, 7), (1, 2), lambda x, p: F.linear(x, p["weight"], p["bias"])),
    Case("relu", ReLUModule, (4, 6), lambda x, p: F.relu(x), kinks=True),
    Case("relu-rank4", ReLUModule, (2, 3, 2, 2), lambda x, p: F.relu(x), kinks=True),
    Case("leaky_relu", lambda: LeakyReLUModule(0.1), (4, 6), lambda x, p: F.leaky_relu(x, 0.1), kinks=True),
    Case("elu", lambda: ELUModule(1.3), (4, 6), lambda x, p: F.elu(x, alpha=1.3), kinks=True),
    Case("softmax", SoftMaxModule, (4, 6), lambda x, p: F.softmax(x, dim=1)),
    *[
        Case(
            f"batchnorm-b{b}",
            lambda: BatchNormModule(5),
            (b, 5),
            lambda x, p: F.batch_norm(x, None, None, p["gamma"], p["beta"], training=True, eps=1e-5),
        )
        for b in (2, 3, 16)
    ],
    _conv(2, 3, 3, 1, 0, (5, 6)),
    _conv(2, 3, 3, 2, 1, (7, 8)),  # stride < kernel, padding
    _conv(3, 2, 2, 3, 0, (8, 7)),  # stride > kernel: rows and columns that no window touches
    _conv(1, 2, 3, 3, 2, (7, 7)),  # stride = kernel, padding > k // 2
    _conv(2, 2, 1, 2, 0, (5, 5)),  # 1x1 kernel
    _conv(2, 2, 4, 1, 3, (3, 3)),  # even kernel larger than the input
    _pool(2, None, 0, (6, 6)),
    _pool(3, 2, 1, (7, 8)),  # overlapping windows, padding
    _pool(2, 1, 1, (5, 4)),  # overlapping, stride 1
    _pool(2, 3, 0, (8, 7)),  # stride > kernel
    _pool(3, 3, 1, (7, 7)),
    Case("mlp", lambda: MLP(5, [4, 3], 2), (6, 5), _mlp_oracle(3)),
    Case("mlp-no-hidden", lambda: MLP(4, [], 3), (2, 4), _mlp_oracle(1)),
]
PARAMETRISED = [c for c in CASES if c.make().params]


def by_id(cases: list[Case]) -> Any:
    """Parametrises a test over ``cases``, using their ids."""
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


# --- helpers ---


def assert_close(actual: Any, expected: Any, dtype: Any, what: str) -> None:
    """Compares with the dtype's tolerance; atol scales with the largest reference magnitude."""
    __tracebackhide__ = True
    rtol, atol = TOLERANCE[np.dtype(dtype).type]
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def make_input(case: Case, rng: np.random.Generator, dtype: Any) -> np.ndarray:
    x = rng.normal(size=case.x_shape)
    if case.kinks:
        x.reshape(-1)[::4] = 0.0
    return x.astype(dtype)


def randomise_params(module: Any, rng: np.random.Generator) -> None:
    """Replaces every parameter by realistic float64 values (not the tiny initialisation)."""
    for key, value in module.params.items():
        module.params[key] = rng.normal(0.0, 0.7, value.shape)


def run(case: Case, dtype: Any, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Builds the case with random parameters; returns (module, x, out, dout, dx)."""
    rng = np.random.default_rng(seed)
    module = case.make()
    randomise_params(module, rng)
    x = make_input(case, rng, dtype)
    out = module.forward(x)
    dout = rng.normal(size=out.shape).astype(dtype)
    dx = module.backward(dout)
    return module, x, out, dout, dx


def torch_reference(
    oracle: Oracle, x: np.ndarray, params: dict[str, np.ndarray], dout: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Returns the oracle's output, dx and parameter gradients, by autograd in float64."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    pt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    out = oracle(xt, pt)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    grads = {k: v.grad.numpy() for k, v in pt.items()}  # type: ignore[union-attr]
    assert xt.grad is not None
    return out.detach().numpy(), xt.grad.numpy(), grads


# --- agreement with PyTorch ---


@pytest.mark.parametrize("dtype", DTYPES)
@by_id(CASES)
def test_matches_torch(case: Case, dtype: Any) -> None:
    module, x, out, dout, dx = run(case, dtype)
    params32 = {k: v.astype(dtype) for k, v in module.params.items()}  # the values the layer computed with
    ref_out, ref_dx, ref_grads = torch_reference(case.oracle, x, params32, dout)
    assert_close(out, ref_out, dtype, "forward")
    assert_close(dx, ref_dx, dtype, "dx")
    assert module.grads.keys() == module.params.keys()
    for key, grad in module.grads.items():
        assert_close(grad, ref_grads[key], dtype, f"grads[{key!r}]")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft"])
def test_cross_entropy_matches_torch(dtype: Any, soft: bool) -> None:
    rng = np.random.default_rng(1)
    x = torch.softmax(torch.tensor(rng.normal(size=(5, 4))), dim=1).numpy().astype(dtype)
    y = rng.dirichlet(np.ones(4), size=5) if soft else np.eye(4)[rng.integers(0, 4, 5)]
    module = CrossEntropyModule()
    loss, dx = module.forward(x, y), module.backward(x, y)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ref = -(torch.tensor(y) * torch.log(xt)).sum(dim=1).mean()
    ref.backward()
    assert np.ndim(loss) == 0 and loss.dtype == dtype and dx.dtype == dtype
    assert_close(loss, ref.item(), dtype, "loss")
    assert xt.grad is not None
    assert_close(dx, xt.grad.numpy(), dtype, "dx")


def test_cross_entropy_ignores_zero_probability_off_target() -> None:
    x, y = np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    module = CrossEntropyModule()
    assert module.forward(x, y) == pytest.approx(np.log(2) / 2)
    np.testing.assert_array_equal(module.backward(x, y), [[0.0, -0.5], [-1.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_large_logits(dtype: Any) -> None:
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(4, 6)) * 1e3).astype(dtype)
    x[0] = 1e4  # a constant row of huge logits
    module = SoftMaxModule()
    s = module.forward(x)
    dout = rng.normal(size=s.shape).astype(dtype)
    dx = module.backward(dout)
    assert np.isfinite(s).all() and np.isfinite(dx).all()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.softmax(xt, dim=1).backward(torch.tensor(dout, dtype=torch.float64))
    assert_close(s, torch.softmax(xt, dim=1).detach().numpy(), dtype, "softmax")
    assert xt.grad is not None
    assert_close(dx, xt.grad.numpy(), dtype, "dx")


@pytest.mark.parametrize(("k", "s", "pad"), [(2, None, 0), (3, 2, 1), (2, 1, 0), (3, 1, 1)])
def test_maxpool_ties_route_gradient_to_one_maximum(k: int, s: int | None, pad: int) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(2, 2, 6, 6)).astype(np.float64)  # many exact ties
    module = MaxPool2dModule(k, stride=s, padding=pad)
    out = module.forward(x)
    dout = rng.normal(size=out.shape)
    dx = module.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    F.max_pool2d(xt, k, stride=s, padding=pad).backward(torch.tensor(dout))
    assert xt.grad is not None
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)  # the same maximum as PyTorch
    ones = MaxPool2dModule(k, stride=s, padding=pad)
    ones.forward(x)
    chosen = ones.backward(np.ones_like(out))
    assert chosen.sum() == out.size  # exactly one element per window receives its gradient
    if s is None:  # non-overlapping: each window's dx sums to its dout and has one non-zero
        windows = dx.reshape(2, 2, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(*out.shape, 4)
        np.testing.assert_allclose(windows.sum(axis=-1), dout, rtol=1e-12)
        assert ((windows != 0).sum(axis=-1) == 1).all()


# --- dtypes ---


@pytest.mark.parametrize("dtype", [*DTYPES, np.float16])
@by_id(CASES)
def test_output_and_dx_keep_the_input_dtype(case: Case, dtype: Any) -> None:
    module, _, out, _, dx = run(case, dtype)
    assert out.dtype == dtype and dx.dtype == dtype
    for key, grad in module.grads.items():
        assert grad.dtype == module.params[key].dtype == np.float64
        assert grad.shape == module.params[key].shape


@pytest.mark.parametrize(("param_dtype", "x_dtype"), [(np.float32, np.float64), (np.float64, np.float32)])
@by_id(PARAMETRISED)
def test_grads_take_the_params_dtype(case: Case, param_dtype: Any, x_dtype: Any) -> None:
    rng = np.random.default_rng(4)
    module = case.make()
    for key, value in module.params.items():
        module.params[key] = rng.normal(size=value.shape).astype(param_dtype)
    out = module.forward(make_input(case, rng, x_dtype))
    dx = module.backward(np.ones_like(out))
    assert out.dtype == x_dtype and dx.dtype == x_dtype
    for key, grad in module.grads.items():
        assert grad.dtype == param_dtype and grad.shape == module.params[key].shape


def test_integer_input_is_promoted_to_float64() -> None:
    out = ReLUModule().forward(np.array([[-1, 2]]))
    assert out.dtype == np.float64


# --- state and side effects ---


@by_id(CASES)
def test_no_mutation_and_no_aliasing(case: Case) -> None:
    rng = np.random.default_rng(5)
    module = case.make()
    randomise_params(module, rng)
    params_before = {k: v.copy() for k, v in module.params.items()}
    x = make_input(case, rng, np.float64)
    x_before = x.copy()
    out = module.forward(x)
    dout = rng.normal(size=out.shape)
    dout_before = dout.copy()
    dx = module.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    for key, value in module.params.items():
        np.testing.assert_array_equal(value, params_before[key])
    arguments = [x, dout, *module.params.values()]
    assert not any(np.shares_memory(result, a) for result in (out, dx) for a in arguments)


@by_id(CASES)
def test_backward_overwrites_grads(case: Case) -> None:
    module, _, _, dout, dx = run(case, np.float64)
    first = {k: v.copy() for k, v in module.grads.items()}
    np.testing.assert_array_equal(module.backward(dout), dx)
    for key, grad in module.grads.items():
        np.testing.assert_array_equal(grad, first[key])


@by_id(CASES)
def test_backward_uses_the_last_forward(case: Case) -> None:
    module, _, _, dout, _ = run(case, np.float64)
    x_last = make_input(case, np.random.default_rng(99), np.float64)
    module.forward(x_last)
    fresh = case.make()
    fresh.params = {k: v.copy() for k, v in module.params.items()}
    fresh.forward(x_last)
    np.testing.assert_array_equal(module.backward(dout), fresh.backward(dout))
    for key, grad in module.grads.items():
        np.testing.assert_array_equal(grad, fresh.grads[key])


@by_id(PARAMETRISED)
def test_params_are_read_on_every_forward(case: Case) -> None:
    rng = np.random.default_rng(6)
    module = case.make()
    randomise_params(module, rng)
    x = make_input(case, rng, np.float64)
    module.forward(x)
    in_place, rebound = next(iter(module.params)), list(module.params)[-1]
    module.params[in_place] *= 2.0
    module.params[rebound] = module.params[rebound] + 0.5
    expected = case.oracle(torch.tensor(x), {k: torch.tensor(v) for k, v in module.params.items()})
    assert_close(module.forward(x), expected.numpy(), np.float64, "forward after changing params")


def test_mlp_keeps_layers_and_syncs_params_both_ways() -> None:
    mlp = MLP(3, [4], 2)
    assert [type(m) for m in mlp.layers] == [LinearModule, ReLUModule, LinearModule, SoftMaxModule]
    assert mlp.params["layers.0.weight"] is mlp.layers[0].params["weight"]
    x = np.random.default_rng(7).normal(size=(5, 3))
    mlp.params["layers.0.weight"] = np.ones((4, 3))  # rebound on the MLP
    mlp.layers[2].params["bias"] = np.array([3.0, -3.0])  # rebound on the layer
    out = mlp.forward(x)
    assert mlp.layers[0].params["weight"] is mlp.params["layers.0.weight"]
    assert mlp.params["layers.2.bias"] is mlp.layers[2].params["bias"]
    mlp.backward(np.ones_like(out))
    assert mlp.grads["layers.0.weight"] is mlp.layers[0].grads["weight"]


# --- errors ---


@by_id(CASES)
def test_backward_before_forward_raises(case: Case) -> None:
    with pytest.raises(RuntimeError, match="backward: called before forward"):
        case.make().backward(np.ones(case.x_shape))


@by_id(CASES)
def test_dout_of_the_wrong_shape_raises(case: Case) -> None:
    module, _, out, _, _ = run(case, np.float64)
    with pytest.raises(ValueError, match=re.escape(f"expected dout of shape {out.shape}, got")):
        module.backward(np.ones((*out.shape, 1)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@by_id(CASES)
def test_non_finite_input_raises(case: Case, bad: float) -> None:
    x = np.ones(case.x_shape)
    x.reshape(-1)[-1] = bad
    with pytest.raises(ValueError, match=r"forward: expected finite x, got .* at index"):
        case.make().forward(x)


def test_non_finite_detection_survives_overflowing_sums() -> None:
    x = np.full((2, 3), np.finfo(np.float32).max, dtype=np.float32)  # the fast sum overflows; x is finite
    assert ReLUModule().forward(x).dtype == np.float32


BAD_CALLS = [
    pytest.param(
        lambda: LinearModule(3, 2).forward(np.ones((4, 5))),
        "LinearModule.forward: expected x of shape (B, 3), got (4, 5)",
        id="linear-features",
    ),
    pytest.param(
        lambda: LinearModule(3, 2).forward(np.ones(3)),
        "LinearModule.forward: expected x of shape (B, 3), got (3,)",
        id="linear-rank",
    ),
    pytest.param(
        lambda: LinearModule(3, 2).forward(np.ones((0, 3))),
        "expected a non-empty x of shape (B, 3), got (0, 3)",
        id="linear-empty",
    ),
    pytest.param(
        lambda: _rebind(LinearModule(3, 2), "bias", np.ones(3)).forward(np.ones((1, 3))),
        "expected params['bias'] of shape (2,), got (3,)",
        id="linear-param-shape",
    ),
    pytest.param(
        lambda: ReLUModule().forward(np.array(1.0)),
        "ReLUModule.forward: expected x of shape (B, ...), got ()",
        id="relu-0d",
    ),
    pytest.param(
        lambda: SoftMaxModule().forward(np.ones((2, 3, 4))),
        "SoftMaxModule.forward: expected x of shape (B, C), got (2, 3, 4)",
        id="softmax-rank",
    ),
    pytest.param(
        lambda: BatchNormModule(4).forward(np.ones((2, 3))),
        "BatchNormModule.forward: expected x of shape (B, 4), got (2, 3)",
        id="batchnorm-features",
    ),
    pytest.param(
        lambda: Conv2dModule(3, 2, 3).forward(np.ones((1, 2, 5, 5))),
        "Conv2dModule.forward: expected x of shape (N, 3, H, W), got (1, 2, 5, 5)",
        id="conv-channels",
    ),
    pytest.param(
        lambda: Conv2dModule(3, 2, 3).forward(np.ones((3, 5, 5))),
        "expected x of shape (N, 3, H, W), got (3, 5, 5)",
        id="conv-rank",
    ),
    pytest.param(
        lambda: Conv2dModule(1, 1, 3).forward(np.ones((1, 1, 2, 5))),
        "Conv2dModule.forward: expected padded input height and width >= kernel_size 3, got 2x5",
        id="conv-small",
    ),
    pytest.param(
        lambda: MaxPool2dModule(3).forward(np.ones((1, 1, 5, 2))),
        "MaxPool2dModule.forward: expected padded input height and width >= kernel_size 3, got 5x2",
        id="pool-small",
    ),
    pytest.param(
        lambda: MLP(3, [2], 2).forward(np.ones((4, 5))),
        "MLP.forward: expected x of shape (B, 3), got (4, 5)",
        id="mlp-features",
    ),
    pytest.param(
        lambda: CrossEntropyModule().forward(np.full((2, 3), 1 / 3), np.ones((2, 2))),
        "CrossEntropyModule.forward: expected y of shape (2, 3), got (2, 2)",
        id="ce-shape",
    ),
    pytest.param(
        lambda: CrossEntropyModule().backward(-np.ones((2, 3)), np.ones((2, 3))),
        "CrossEntropyModule.backward: expected probabilities x >= 0, got min -1.0",
        id="ce-negative",
    ),
    pytest.param(
        lambda: CrossEntropyModule().forward(np.ones((1, 2)), np.array([[np.nan, 1.0]])),
        "expected finite y, got nan at index (0, 0)",
        id="ce-nan-y",
    ),
    pytest.param(
        lambda: ReLUModule().forward(np.ones((2, 2), dtype=complex)),
        "expected x to be a real floating array, got dtype complex128",
        id="complex",
    ),
]

BAD_CONSTRUCTORS = [
    pytest.param(
        lambda: LinearModule(0, 2),
        "LinearModule: expected in_features to be an int >= 1, got 0",
        id="linear-in",
    ),
    pytest.param(
        lambda: LinearModule(2, 2.0),  # type: ignore[arg-type]
        "expected out_features to be an int >= 1, got 2.0",
        id="linear-out-float",
    ),
    pytest.param(
        lambda: LeakyReLUModule(float("nan")),
        "LeakyReLUModule: expected neg_slope to be a finite float, got nan",
        id="leaky-nan",
    ),
    pytest.param(lambda: ELUModule(0.0), "ELUModule: expected alpha to be a finite float > 0, got 0.0", id="elu-zero"),
    pytest.param(lambda: ELUModule(-1.0), "expected alpha to be a finite float > 0, got -1.0", id="elu-neg"),
    pytest.param(
        lambda: BatchNormModule(3, eps=0.0),
        "BatchNormModule: expected eps to be a finite float > 0, got 0.0",
        id="bn-eps",
    ),
    pytest.param(
        lambda: BatchNormModule(-1),
        "BatchNormModule: expected n_neurons to be an int >= 1, got -1",
        id="bn-n",
    ),
    pytest.param(
        lambda: Conv2dModule(1, 1, 3, stride=0),
        "Conv2dModule: expected stride to be an int >= 1, got 0",
        id="conv-stride",
    ),
    pytest.param(
        lambda: Conv2dModule(1, 1, 3, padding=-1),
        "Conv2dModule: expected padding to be an int >= 0, got -1",
        id="conv-padding",
    ),
    pytest.param(
        lambda: Conv2dModule(1, 1, True),
        "expected kernel_size to be an int >= 1, got True",
        id="conv-kernel-bool",
    ),
    pytest.param(
        lambda: MaxPool2dModule(3, padding=2),
        "MaxPool2dModule: expected padding <= kernel_size // 2 = 1, got 2",
        id="pool-padding",
    ),
    pytest.param(
        lambda: MaxPool2dModule(3, stride=0),
        "MaxPool2dModule: expected stride to be an int >= 1, got 0",
        id="pool-stride",
    ),
    pytest.param(lambda: MLP(3, [4, 0], 2), "MLP: expected n_hidden[1] to be an int >= 1, got 0", id="mlp-hidden"),
    pytest.param(
        lambda: MLP(3, 4, 2),  # type: ignore[arg-type]
        "MLP: expected n_hidden to be a list of ints >= 1, got 4",
        id="mlp-hidden-type",
    ),
]


def _rebind(module: Any, key: str, value: np.ndarray) -> Any:
    module.params[key] = value
    return module


@pytest.mark.parametrize(("call", "message"), BAD_CALLS)
def test_bad_input_raises_a_clear_value_error(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


@pytest.mark.parametrize(("make", "message"), BAD_CONSTRUCTORS)
def test_bad_constructor_arguments_raise(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_public_names() -> None:
    assert sorted(numpy_layers.__all__) == sorted(
        [
            "MLP",
            "BatchNormModule",
            "Conv2dModule",
            "CrossEntropyModule",
            "ELUModule",
            "LeakyReLUModule",
            "LinearModule",
            "MaxPool2dModule",
            "ReLUModule",
            "SoftMaxModule",
        ]
    )
    assert all(hasattr(numpy_layers, name) for name in numpy_layers.__all__)
