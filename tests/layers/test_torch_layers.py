"""Tests of :mod:`layers.torch`: each Function against its PyTorch oracle, the modules, the two networks.

The Function tests are declarative: a :class:`FunctionCase` names the Function, its oracle and its input
shapes, and every generic test (agreement in value and gradient, gradcheck, ``needs_input_grad``, no side
effects) runs on every case. CUDA variants are the same tests with ``device="cuda"``, skipped without a GPU.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import itertools
import re
from collections.abc import Callable, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import layers
import layers.torch as lt

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="CUDA not available: the device-agnostic checks ran on CPU only"
)
DEVICES = ["cpu", pytest.param("cuda", marks=requires_cuda)]
DTYPES = [torch.float64, torch.float32]

# Two implementations of the same formula differ by rounding only: about sqrt(n)·u per reduction of n <= 100
# terms, amplified by the norms' 1/σ̂ (<= 10² for these unit-scale inputs). With u = 1.1e-16 (float64) and
# 6.0e-8 (float32) that is <= 1e-12 and <= 6e-5; rtol and atol are both given, as assert_close requires.
TOLERANCES = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-12},
    torch.float32: {"rtol": 1e-4, "atol": 1e-5},
}
EPS = 1e-5

Shape = tuple[int, ...]
Tensors = list[torch.Tensor | None]


@dataclasses.dataclass(frozen=True)
class FunctionCase:
    """One Function under test: ``custom(*inputs)`` equals ``reference(*inputs)`` in value and gradient."""

    name: str
    custom: Callable[..., torch.Tensor]
    reference: Callable[..., torch.Tensor]
    shapes: tuple[Shape | None, ...]  # None: the argument is passed as None (a bias left out)

    def inputs(self, dtype: torch.dtype, device: str, seed: int = 0) -> Tensors:
        gen = torch.Generator().manual_seed(seed)
        out: Tensors = []
        for i, shape in enumerate(self.shapes):
            if shape is None:
                out.append(None)
                continue
            t = torch.randn(shape, generator=gen, dtype=torch.float64)
            t = 1 + 0.3 * t if i in self.gamma_like else t
            out.append(t.to(device=device, dtype=dtype).requires_grad_())
        return out

    @property
    def gamma_like(self) -> tuple[int, ...]:
        return (1,) if self.name.endswith("norm") else ()

    def __str__(self) -> str:
        return self.name


def _batch_norm_ref(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=EPS)


def _layer_norm_ref(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[1],), gamma, beta, eps=EPS)


def _conv_case(name: str, shapes: tuple[Shape | None, ...], stride: object, padding: object) -> FunctionCase:
    return FunctionCase(
        name,
        lambda x, w, b: lt.Conv2dFunction.apply(x, w, b, stride, padding),
        lambda x, w, b: F.conv2d(x, w, b, stride, padding),
        shapes,
    )


CASES = [
    FunctionCase(
        "batchnorm",
        lambda x, g, b: lt.CustomBatchNormManualFunction.apply(x, g, b, EPS),
        _batch_norm_ref,
        ((8, 5), (5,), (5,)),
    ),
    FunctionCase(
        "layernorm",
        lambda x, g, b: lt.CustomLayerNormManualFunction.apply(x, g, b, EPS),
        _layer_norm_ref,
        ((6, 7), (7,), (7,)),
    ),
    FunctionCase("linear", lt.LinearFunction.apply, F.linear, ((6, 4), (3, 4), (3,))),
    FunctionCase("linear_no_bias", lt.LinearFunction.apply, F.linear, ((6, 4), (3, 4), None)),
    FunctionCase("linear_3d", lt.LinearFunction.apply, F.linear, ((2, 5, 4), (3, 4), (3,))),
    _conv_case("conv_tuple_args", ((1, 2, 5, 4), (3, 2, 3, 2), (3,)), (2, 1), (1, 0)),
    _conv_case("conv_int_args_no_bias", ((1, 2, 4, 4), (2, 2, 3, 3), None), 1, 1),
    _conv_case("conv_stride_skips_edge", ((1, 1, 6, 6), (2, 1, 3, 3), (2,)), 2, 0),  # row/col 5 unused
]
LINEAR_CASES = [c for c in CASES if c.name.startswith("linear")]


def _tensors(inputs: Sequence[torch.Tensor | None]) -> list[torch.Tensor]:
    return [t for t in inputs if t is not None]


def _grads(y: torch.Tensor, inputs: Tensors, dout: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return torch.autograd.grad(y, _tensors(inputs), dout)


# --- Functions against their oracles ---------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_function_matches_reference(case: FunctionCase, dtype: torch.dtype, device: str) -> None:
    inputs = case.inputs(dtype, device)
    before = [t.detach().clone() for t in _tensors(inputs)]
    y, y_ref = case.custom(*inputs), case.reference(*inputs)
    torch.testing.assert_close(y, y_ref, **TOLERANCES[dtype])
    dout = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=dtype).to(device)
    dout_before = dout.clone()
    for got, want in zip(_grads(y, inputs, dout), _grads(y_ref, inputs, dout), strict=True):
        torch.testing.assert_close(got, want, **TOLERANCES[dtype])
    for t, t_before in zip(_tensors(inputs), before, strict=True):
        torch.testing.assert_close(t.detach(), t_before, rtol=0, atol=0, msg="an input was mutated")
    torch.testing.assert_close(dout, dout_before, rtol=0, atol=0, msg="the upstream gradient was mutated")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_function_gradcheck(case: FunctionCase, device: str) -> None:
    assert torch.autograd.gradcheck(case.custom, case.inputs(torch.float64, device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", LINEAR_CASES, ids=str)
def test_linear_gradgradcheck(case: FunctionCase, device: str) -> None:
    assert torch.autograd.gradgradcheck(case.custom, case.inputs(torch.float64, device))


@pytest.mark.parametrize("name", ["batchnorm", "layernorm"])
def test_norm_backward_refuses_double_backward(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    inputs = case.inputs(torch.float64, "cpu")
    (dx,) = torch.autograd.grad(case.custom(*inputs).pow(2).sum(), inputs[0], create_graph=True)
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        dx.sum().backward()


def _requires_grad_patterns(n: int) -> list[tuple[bool, ...]]:
    return [p for p in itertools.product([True, False], repeat=n) if any(p)]


@pytest.mark.parametrize(
    ("case", "pattern"),
    [(c, p) for c in CASES for p in _requires_grad_patterns(len(_tensors(c.shapes)))],  # type: ignore[arg-type]
    ids=lambda v: str(v) if isinstance(v, FunctionCase) else "".join("1" if b else "0" for b in v),
)
def test_function_honours_needs_input_grad(case: FunctionCase, pattern: tuple[bool, ...]) -> None:
    inputs = case.inputs(torch.float64, "cpu")
    for t, needs in zip(_tensors(inputs), pattern, strict=True):
        t.requires_grad_(needs)
    y = case.custom(*inputs)
    returned: list[list[bool]] = []
    assert y.grad_fn is not None
    y.grad_fn.register_hook(lambda grad_in, _: returned.append([g is not None for g in grad_in]))
    y.backward(torch.ones_like(y))
    assert returned == [list(pattern)], "backward must return a gradient exactly for the inputs that need one"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: lt.CustomBatchNormManualFunction.apply(torch.randn(4, 3), torch.ones(4), torch.zeros(3)),
            "gamma",
        ),
        (
            lambda: lt.CustomBatchNormManualFunction.apply(torch.randn(1, 3), torch.ones(3), torch.zeros(3)),
            "2 samp",
        ),
        (
            lambda: lt.CustomLayerNormManualFunction.apply(torch.randn(4), torch.ones(4), torch.zeros(4)),
            r"\(B, 4\)",
        ),
        (lambda: lt.LinearFunction.apply(torch.randn(2, 5), torch.randn(3, 4), None), r"\(\*, 4\)"),
        (
            lambda: lt.LinearFunction.apply(torch.randn(2, 4), torch.randn(3, 4), torch.randn(4)),
            r"bias of shape \(3,\)",
        ),
        (
            lambda: lt.Conv2dFunction.apply(torch.randn(1, 2, 5, 5), torch.randn(3, 4, 3, 3), None, 1, 0),
            r"\(N, 4, H, W\)",
        ),
        (
            lambda: lt.Conv2dFunction.apply(torch.randn(1, 2, 2, 2), torch.randn(3, 2, 3, 3), None, 1, 0),
            "smaller",
        ),
        (
            lambda: lt.Conv2dFunction.apply(torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3), None, (1, 1, 1), 0),
            "pair",
        ),
    ],
)
def test_function_rejects_bad_arguments(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("regime", ["large_offset", "near_constant_feature"])
@pytest.mark.parametrize("name", ["batchnorm", "layernorm"])
def test_norm_hostile_inputs_match_reference(name: str, regime: str) -> None:
    case = next(c for c in CASES if c.name == name)
    x, gamma, beta = case.inputs(torch.float64, "cpu")
    assert x is not None
    with torch.no_grad():
        if regime == "large_offset":
            x.mul_(1e-3).add_(1e3)
        else:
            x[:, 0] = 0.5  # σ² = 0 in batch norm: x̂ = 0 and only eps keeps 1/σ̂ finite
            x[0, :] = 0.5  # σ² = 0 for layer norm's first sample
    inputs: Tensors = [x, gamma, beta]
    y, y_ref = case.custom(*inputs), case.reference(*inputs)
    tol = {"rtol": 1e-6, "atol": 1e-8}  # (x − μ) of size 1e-3 next to 1e3 loses 6 of float64's 16 digits
    torch.testing.assert_close(y, y_ref, **tol)
    dout = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=y.dtype)
    for got, want in zip(_grads(y, inputs, dout), _grads(y_ref, inputs, dout), strict=True):
        torch.testing.assert_close(got, want, **tol)


# --- Normalisation modules ---------------------------------------------------------------------------------

NORM_MODULES: list[tuple[type[nn.Module], Callable[..., torch.Tensor]]] = [
    (lt.CustomBatchNormAutograd, F.batch_norm),
    (lt.CustomBatchNormManualModule, F.batch_norm),
    (lt.CustomLayerNormAutograd, F.layer_norm),
    (lt.CustomLayerNormManualModule, F.layer_norm),
]


def _norm_reference(kind: Callable[..., torch.Tensor], x: torch.Tensor, module: nn.Module) -> torch.Tensor:
    gamma, beta, eps = module.gamma, module.beta, module.eps
    if kind is F.batch_norm:
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    return F.layer_norm(x, (x.shape[1],), gamma, beta, eps=eps)


def _module_ids(v: object) -> str:
    return v.__name__ if isinstance(v, type) else ""


@pytest.mark.parametrize(("cls", "_kind"), NORM_MODULES, ids=_module_ids)
def test_norm_module_registers_parameters(cls: type[nn.Module], _kind: object) -> None:
    module = cls(4, eps=1e-3)
    params = dict(module.named_parameters())
    assert set(params) == {"gamma", "beta"}
    assert all(isinstance(p, nn.Parameter) and p.shape == (4,) for p in params.values())
    torch.testing.assert_close(params["gamma"].detach(), torch.ones(4))
    torch.testing.assert_close(params["beta"].detach(), torch.zeros(4))
    assert module.eps == 1e-3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("cls", "kind"), NORM_MODULES, ids=_module_ids)
def test_norm_module_matches_reference_and_fills_grads(
    cls: type[nn.Module], kind: Callable[..., torch.Tensor], device: str
) -> None:
    gen = torch.Generator().manual_seed(0)
    module = cls(5).to(device=device, dtype=torch.float64)
    with torch.no_grad():
        module.gamma.copy_(1 + 0.3 * torch.randn(5, generator=gen, dtype=torch.float64))
        module.beta.copy_(torch.randn(5, generator=gen, dtype=torch.float64))
    x = torch.randn(6, 5, generator=gen, dtype=torch.float64).to(device).requires_grad_()
    y = module(x)
    y_ref = _norm_reference(kind, x, module)
    torch.testing.assert_close(y, y_ref, **TOLERANCES[torch.float64])
    dout = torch.randn(6, 5, generator=gen, dtype=torch.float64).to(device)
    want = torch.autograd.grad(y_ref, [x, module.gamma, module.beta], dout)
    y.backward(dout)
    assert x.grad is not None and module.gamma.grad is not None and module.beta.grad is not None
    for got, expected in zip([x.grad, module.gamma.grad, module.beta.grad], want, strict=True):
        torch.testing.assert_close(got, expected, **TOLERANCES[torch.float64])


@pytest.mark.parametrize(("cls", "kind"), NORM_MODULES, ids=_module_ids)
def test_norm_module_honours_eps(cls: type[nn.Module], kind: Callable[..., torch.Tensor]) -> None:
    x = 1e-2 * torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    small, large = cls(5, eps=1e-5).double(), cls(5, eps=1e-1).double()
    y_small, y_large = small(x), large(x)
    assert not torch.allclose(y_small, y_large), "a larger eps must shrink x̂ for inputs of variance ~1e-4"
    torch.testing.assert_close(y_large, _norm_reference(kind, x, large), **TOLERANCES[torch.float64])


@pytest.mark.parametrize("bad_shape", [(4, 5), (5,), (2, 3, 1)])
@pytest.mark.parametrize(("cls", "_kind"), NORM_MODULES, ids=_module_ids)
def test_norm_module_rejects_bad_shapes(cls: type[nn.Module], _kind: object, bad_shape: Shape) -> None:
    expected = f"{cls.__name__}: expected input of shape (B, 3), got {bad_shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        cls(3)(torch.randn(bad_shape))


@pytest.mark.parametrize(("cls", "_kind"), NORM_MODULES, ids=_module_ids)
def test_norm_module_rejects_non_finite_input(cls: type[nn.Module], _kind: object) -> None:
    x = torch.randn(4, 3)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        cls(3)(x)


@pytest.mark.parametrize("cls", [lt.CustomBatchNormAutograd, lt.CustomBatchNormManualModule], ids=_module_ids)
def test_batch_norm_refuses_a_single_sample(cls: type[nn.Module]) -> None:
    with pytest.raises(ValueError, match=r"at least 2 samples.*undefined"):
        cls(3)(torch.randn(1, 3))


@pytest.mark.parametrize("cls", [lt.CustomLayerNormAutograd, lt.CustomLayerNormManualModule], ids=_module_ids)
def test_layer_norm_accepts_a_single_sample(cls: type[nn.Module]) -> None:
    x = torch.randn(1, 3, dtype=torch.float64)
    torch.testing.assert_close(cls(3).double()(x), F.layer_norm(x, (3,), eps=EPS))


@pytest.mark.parametrize("cls", [c for c, _ in NORM_MODULES], ids=_module_ids)
@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_norm_module_rejects_bad_constructor_arguments(cls: type[nn.Module], bad: object) -> None:
    with pytest.raises(ValueError, match="n_neurons"):
        cls(bad)


# --- Networks --------------------------------------------------------------------------------------------


def _builtin_and_custom(make: Callable[..., nn.Module], device: str) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    builtin = make(use_custom=False).to(device=device, dtype=torch.float64)
    custom = make(use_custom=True).to(device=device, dtype=torch.float64)
    custom.load_state_dict(builtin.state_dict())
    return builtin, custom


# float64 through ~10 layers of differently ordered sums; at batch 2 the 1×1 maps of the late stages give each
# batch norm 2 samples per channel, x̂ = ±1 whatever x, and dx is a difference of nearly equal terms: rounding
# of 1e-16 reaches ~1e-7 relative there (measured 4e-7 on the 8×8 digits shape).
NETWORK_TOLERANCE = {"rtol": 1e-5, "atol": 1e-8}


def _assert_same_outputs_and_grads(builtin: nn.Module, custom: nn.Module, x: torch.Tensor) -> None:
    outputs = []
    for net in (builtin, custom):
        x_net = x.clone().requires_grad_()
        y = net(x_net)
        y.backward(torch.linspace(-1, 1, y.numel(), dtype=y.dtype, device=y.device).reshape(y.shape))
        outputs.append((y.detach(), x_net.grad))
    tol = NETWORK_TOLERANCE
    torch.testing.assert_close(outputs[1], outputs[0], **tol)
    grads = {name: p.grad for name, p in builtin.named_parameters()}
    for name, p in custom.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], **tol, msg=lambda m, n=name: f"grad of {n}: {m}")
    torch.testing.assert_close(dict(custom.named_buffers()), dict(builtin.named_buffers()), **tol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n_hidden", [[], [8], [16, 8]], ids=str)
def test_mlp_builtin_and_custom_agree(n_hidden: list[int], device: str) -> None:
    builtin, custom = _builtin_and_custom(lambda use_custom: lt.MLP(5, n_hidden, 3, use_custom=use_custom), device)
    x = torch.randn(4, 5, dtype=torch.float64, device=device)
    _assert_same_outputs_and_grads(builtin, custom, x)
    assert builtin(x).shape == (4, 3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (2, 1, 8, 8)], ids=str)
def test_convnet_builtin_and_custom_agree(shape: Shape, device: str) -> None:
    n_channels = shape[1]
    builtin, custom = _builtin_and_custom(lambda use_custom: lt.ConvNet(n_channels, 10, use_custom=use_custom), device)
    x = torch.randn(shape, dtype=torch.float64, device=device)
    _assert_same_outputs_and_grads(builtin, custom, x)  # training mode: batch statistics, running stats updated
    builtin.eval(), custom.eval()
    with torch.no_grad():
        torch.testing.assert_close(custom(x), builtin(x), **NETWORK_TOLERANCE)
        assert builtin(x).shape == (2, 10)


def test_convnet_layout_follows_the_assignment() -> None:
    net = lt.ConvNet(3, 10)
    convs = [(name, m.out_channels) for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert [c for _, c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert all(m.kernel_size == (3, 3) and m.padding == (1, 1) for m in net.modules() if isinstance(m, nn.Conv2d))
    pools = [m for m in net.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 5 and all((p.kernel_size, p.stride, p.padding) == (3, 2, 1) for p in pools)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 8
    assert (net.head.in_features, net.head.out_features) == (512, 10)


@pytest.mark.parametrize(
    ("make", "x", "message"),
    [
        (lambda: lt.ConvNet(3, 10), torch.randn(2, 3, 64, 64), r"1 <= H, W <= 32, got \(2, 3, 64, 64\)"),
        (lambda: lt.ConvNet(3, 10), torch.randn(2, 1, 8, 8), r"\(N, 3, H, W\)"),
        (lambda: lt.MLP(4, [8], 3), torch.randn(2, 5), r"expected input of shape \(B, 4\), got \(2, 5\)"),
    ],
)
def test_networks_reject_bad_input(make: Callable[[], nn.Module], x: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()(x)


# --- Public surface --------------------------------------------------------------------------------------

PUBLIC = {
    "CustomBatchNormManualFunction",
    "CustomBatchNormManualModule",
    "CustomBatchNormAutograd",
    "CustomLayerNormManualFunction",
    "CustomLayerNormManualModule",
    "CustomLayerNormAutograd",
    "LinearFunction",
    "Conv2dFunction",
    "MLP",
    "ConvNet",
}


def test_public_names() -> None:
    assert set(lt.__all__) == PUBLIC
    assert all(hasattr(lt, name) for name in PUBLIC)
    for name in PUBLIC - {"MLP", "ConvNet"}:  # layers.MLP is the NumPy one
        assert getattr(layers, name) is getattr(lt, name)


@pytest.mark.parametrize("module", ["batchnorm", "layernorm", "linear", "conv", "networks"])
def test_docstring_examples_run(module: str) -> None:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(f"layers.torch.{module}"), optionflags=flags)
    assert result.attempted > 0 and result.failed == 0
