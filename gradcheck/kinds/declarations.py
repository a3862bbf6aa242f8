"""The built-in kinds: the layers of the UvA deep-learning assignment 1 (2018) and its later editions.

Each declaration is the single source of its kind's contract, oracle, domain and semantics.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from gradcheck.kinds import invariants as inv
from gradcheck.kinds.base import Case, Edge, Kind, make_values, no_params
from gradcheck.kinds.registry import register

Ctor = Mapping[str, Any]


def _t() -> Any:
    import torch

    return torch


def _F() -> Any:
    import torch.nn.functional as F

    return F


def sizes(lo: int = 1, hi: int = 4) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def no_args() -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


def matrix(batch_lo: int = 1, features: str | None = None) -> Any:
    """Shapes ``{"x": (B, D)}`` with D from a constructor argument, or drawn."""

    def shapes(ctor: Ctor) -> st.SearchStrategy[dict[str, tuple[int, ...]]]:
        d = st.just(ctor[features]) if features else sizes(1, 5)
        return st.tuples(sizes(batch_lo, 5), d).map(lambda bd: {"x": bd})

    return shapes


def affine(key: str) -> Any:
    return lambda ctor: {"gamma": (ctor[key],), "beta": (ctor[key],)}


def matrix_edges(ctors: tuple[Ctor, ...], features: str | None = None, min_batch: int = 1) -> Any:
    """Edges of a kind on (B, D) inputs: the smallest batch, a batch above any chunk size (33), ties, and each
    constructor in ``ctors`` (default first, then the ends of the ranges) at least once."""

    def d(ctor: Ctor, default: int) -> int:
        return int(ctor[features]) if features else default

    def edges() -> list[Edge]:
        first, *rest = ctors
        out = [
            Edge(f"B = {min_batch} (the smallest batch)", first, {"x": (min_batch, d(first, 3))}),
            Edge("B = 33 (larger than any chunk)", first, {"x": (33, d(first, 2))}, dtype="float32"),
            Edge("exact ties and zeros", first, {"x": (max(min_batch, 3), d(first, 4))}, "ties"),
        ]
        for i, ctor in enumerate(rest):
            out.append(Edge(f"constructor {_show(ctor)}", ctor, {"x": (max(min_batch, 2 + i), d(ctor, 1 + i))}))
        return out

    return edges


def _show(ctor: Ctor) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in ctor.items()) or "()"


# --- elementwise activations -------------------------------------------------------------------------------

ACTIVATION_REGIMES = ("normal", "ties", "positive", "negative", "large")

register(
    Kind(
        name="relu",
        summary="ReLU, y = max(0, x); dy/dx = 1[x > 0]",
        protocol="numpy",
        builtin=("layers:ReLUModule",),
        ctor=no_args,
        shapes=matrix(),
        params=no_params,
        reference=lambda ctor, i, p: _F().relu(i["x"]),
        regimes=ACTIVATION_REGIMES,
        edges=matrix_edges(({},)),
        kinks="x = 0 (any slope in [0, 1] is a valid subgradient)",
        invariants=(inv.elementwise_identity_on_positive,),
    )
)

register(
    Kind(
        name="leaky_relu",
        summary="LeakyReLU, y = x for x > 0 else a·x; dy/dx = 1 or a",
        protocol="numpy",
        builtin=("layers:LeakyReLUModule",),
        ctor=lambda: st.fixed_dictionaries(
            {"neg_slope": st.sampled_from((0.01, 0.2, 0.5)) | st.floats(0.0, 2.0, allow_subnormal=False)}
        ),
        shapes=matrix(),
        params=no_params,
        reference=lambda ctor, i, p: _F().leaky_relu(i["x"], ctor["neg_slope"]),
        regimes=ACTIVATION_REGIMES,
        edges=matrix_edges(({"neg_slope": 0.01}, {"neg_slope": 0.0}, {"neg_slope": 2.0})),
        kinks="x = 0 (any slope between a and 1)",
        invariants=(inv.elementwise_identity_on_positive,),
    )
)

register(
    Kind(
        name="elu",
        summary="ELU, y = x for x > 0 else α(eˣ − 1); dy/dx = 1 or α·eˣ",
        protocol="numpy",
        builtin=("layers:ELUModule",),
        ctor=lambda: st.fixed_dictionaries(
            {"alpha": st.sampled_from((1.0, 0.5)) | st.floats(0.05, 3.0, allow_subnormal=False)}
        ),
        shapes=matrix(),
        params=no_params,
        reference=lambda ctor, i, p: _F().elu(i["x"], ctor["alpha"]),
        regimes=ACTIVATION_REGIMES,
        edges=matrix_edges(({"alpha": 1.0}, {"alpha": 0.05}, {"alpha": 3.0})),
        kinks="x = 0 when α ≠ 1 (slopes α and 1)",
        invariants=(inv.elementwise_identity_on_positive,),
    )
)

register(
    Kind(
        name="softmax",
        summary="SoftMax over axis 1; dx = s ⊙ (dout − ⟨dout, s⟩)",
        protocol="numpy",
        builtin=("layers:SoftMaxModule",),
        ctor=no_args,
        shapes=matrix(),
        params=no_params,
        reference=lambda ctor, i, p: _F().softmax(i["x"], dim=1),
        regimes=("normal", "large", "ties", "near_constant"),
        edges=lambda: [
            *matrix_edges(({},))(),
            Edge("one class (D = 1)", {}, {"x": (2, 1)}),
            Edge("logits near ±1000", {}, {"x": (3, 4)}, "pm1000"),
        ],
        invariants=(inv.rows_sum_to_one, inv.softmax_shift_invariant),
    )
)


# --- loss ------------------------------------------------------------------------------------------------


def _probabilities(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    b, c = case.shapes["x"]
    zeros = case.regime == "zeros"
    logits = make_values("normal" if zeros else case.regime, rng, (b, c), 1.0)
    if case.regime == "large":
        logits = logits / 50  # probabilities down to ~1e-17: near 0 and near 1, still representable
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = p / p.sum(axis=1, keepdims=True)
    tiny = np.finfo(case.dtype).tiny ** 0.25  # keep log(x) and 1/x finite in the case's dtype
    p = np.maximum(p, tiny)
    label = rng.integers(0, c, size=b)
    y = np.eye(c)[label]
    if zeros:  # what softmax underflow gives: exactly 0 at every other non-label class, valid for −Σ y log x
        off = (y == 0) & (np.arange(c) % 2 == 0)
        p = np.where(off, 0.0, p)
        p = p / p.sum(axis=1, keepdims=True)
    return {"x": p, "y": y}


def _cross_entropy_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    # Terms with y = 0 are 0 (the xlogy convention): log(0) at a non-label class must not give 0 · (−∞) = nan,
    # and the gradient there is 0 rather than nan.
    t = _t()
    x, y = i["x"], i["y"]
    safe = t.where(y != 0, x, t.ones_like(x))
    return -(y * t.log(safe)).sum(dim=1).mean()


register(
    Kind(
        name="cross_entropy",
        summary="cross-entropy of probabilities, L = −(1/B) Σ_b Σ_c y log x; dL/dx = −y / (B·x)",
        protocol="numpy_loss",
        builtin=("layers:CrossEntropyModule",),
        ctor=no_args,
        shapes=matrix(),
        params=no_params,
        reference=_cross_entropy_ref,
        semantics="loss_mean",
        regimes=("normal", "large", "ties"),
        edges=lambda: [
            *matrix_edges(({},))(),
            Edge("one class (p = 1 exactly)", {}, {"x": (2, 1)}),
            Edge(
                "probabilities exactly 0 at non-label classes",
                {},
                {"x": (4, 5)},
                "zeros",
                boundary="probabilities exactly 0 (outside the open domain (0, 1] of log x; softmax underflow "
                "produces them): 0·log 0 gives NaN unless the terms with y = 0 are skipped (np.where, xlogy)",
            ),
        ],
        kinks="none on the domain x in (0, 1]",
        make_inputs=_probabilities,
        positive=("x",),
        invariants=(inv.loss_nonnegative,),
    )
)


# --- linear ----------------------------------------------------------------------------------------------


def _linear_ctor() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"in_features": sizes(1, 4), "out_features": sizes(1, 4)})


def _linear_params(ctor: Ctor) -> dict[str, tuple[int, ...]]:
    return {"weight": (ctor["out_features"], ctor["in_features"]), "bias": (ctor["out_features"],)}


def _linear_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return _F().linear(i["x"], p["weight"], p["bias"])


LINEAR = register(
    Kind(
        name="linear",
        summary="y = x Wᵀ + b; dx = dout W, dW = doutᵀ x, db = Σ_b dout",
        protocol="numpy",
        builtin=("layers:LinearModule",),
        ctor=_linear_ctor,
        shapes=matrix(features="in_features"),
        params=_linear_params,
        reference=_linear_ref,
        regimes=("normal", "large", "near_constant"),
        edges=matrix_edges(
            (
                {"in_features": 3, "out_features": 2},
                {"in_features": 1, "out_features": 1},
                {"in_features": 4, "out_features": 4},
                {"in_features": 1, "out_features": 4},
                {"in_features": 4, "out_features": 1},
            ),
            "in_features",
        ),
        invariants=(inv.linear_in_x,),
    )
)

register(
    replace(
        LINEAR,
        name="linear_function",
        summary="torch Function y = x Wᵀ + b with a manual backward that supports double backward",
        protocol="function",
        builtin=("layers:LinearFunction",),
        regimes=("normal", "large"),
        call=lambda ctor, v: (v["x"], v["weight"], v["bias"]),
        double_backward=True,
    )
)


# --- normalisation ---------------------------------------------------------------------------------------


def _norm_ctor(key: str) -> Any:
    return lambda: st.fixed_dictionaries({key: sizes(1, 4), "eps": st.sampled_from((1e-5, 1e-3, 0.1, 1.0))})


def _batchnorm_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return _F().batch_norm(i["x"], None, None, p["gamma"], p["beta"], training=True, eps=ctor["eps"])


def _layernorm_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    x = i["x"]
    return _F().layer_norm(x, (x.shape[1],), p["gamma"], p["beta"], eps=ctor["eps"])


NORM_REGIMES = ("normal", "near_constant", "large")


def _norm_edges(min_batch: int, near_constant: str) -> Any:
    ctors = ({"n_neurons": 3, "eps": 1e-5}, {"n_neurons": 1, "eps": 1e-5}, {"n_neurons": 4, "eps": 1.0})

    def edges() -> list[Edge]:
        nc = {"n_neurons": 3, "eps": 1e-5}
        return [
            *matrix_edges(ctors, "n_neurons", min_batch)(),
            Edge("near-constant features", nc, {"x": (4, 3)}, near_constant),
        ]

    return edges


BN_SUMMARY = "batch norm (training mode, biased variance): y = γ·x̂ + β, x̂ = (x − μ_B)/√(σ²_B + ε)"
LN_SUMMARY = "layer norm over dim 1: y = γ·x̂ + β, x̂ = (x − μ)/√(σ² + ε) per sample"


def _norm_call(ctor: Ctor, v: Mapping[str, Any]) -> tuple[Any, ...]:
    return (v["x"], v["gamma"], v["beta"], ctor["eps"])


BATCHNORM = register(
    Kind(
        name="batchnorm",
        summary=BN_SUMMARY + " (NumPy module)",
        protocol="numpy",
        builtin=("layers:BatchNormModule",),
        ctor=_norm_ctor("n_neurons"),
        shapes=matrix(batch_lo=2, features="n_neurons"),
        params=affine("n_neurons"),
        reference=_batchnorm_ref,
        semantics="batch_coupled",
        regimes=NORM_REGIMES,
        edges=_norm_edges(2, "near_constant"),
        min_batch=2,
        init={"gamma": 1.0, "beta": 0.0},
        invariants=(inv.batchnorm_standardises, inv.batch_shift_invariant),
    )
)

register(
    replace(
        BATCHNORM,
        name="batchnorm_function",
        summary=BN_SUMMARY + " (torch.autograd.Function, manual backward)",
        protocol="function",
        builtin=("layers:CustomBatchNormManualFunction",),
        call=_norm_call,
        init={},
        invariants=(inv.batch_shift_invariant,),
    )
)

register(
    replace(
        BATCHNORM,
        name="batchnorm_module",
        summary=BN_SUMMARY + " (nn.Module with γ, β as nn.Parameters)",
        protocol="module",
        builtin=("layers:CustomBatchNormManualModule", "layers:CustomBatchNormAutograd"),
    )
)

LAYERNORM = register(
    Kind(
        name="layernorm_function",
        summary=LN_SUMMARY + " (torch.autograd.Function, manual backward)",
        protocol="function",
        builtin=("layers:CustomLayerNormManualFunction",),
        ctor=_norm_ctor("n_neurons"),
        shapes=matrix(features="n_neurons"),
        params=affine("n_neurons"),
        reference=_layernorm_ref,
        regimes=NORM_REGIMES,
        edges=_norm_edges(1, "constant_rows"),
        call=_norm_call,
        invariants=(inv.sample_shift_invariant,),
    )
)

register(
    replace(
        LAYERNORM,
        name="layernorm_module",
        summary=LN_SUMMARY + " (nn.Module with γ, β as nn.Parameters)",
        protocol="module",
        builtin=("layers:CustomLayerNormManualModule", "layers:CustomLayerNormAutograd"),
        call=None,
        init={"gamma": 1.0, "beta": 0.0},
    )
)


# --- convolution and pooling -----------------------------------------------------------------------------


@st.composite
def _conv_ctor(draw: Any) -> dict[str, Any]:
    k = draw(sizes(1, 3))
    return {
        "in_channels": draw(sizes(1, 2)),
        "out_channels": draw(sizes(1, 2)),
        "kernel_size": k,
        "stride": draw(sizes(1, 3)),
        "padding": draw(st.integers(0, 2)),
    }


def _image(channels_key: str | None) -> Any:
    def shapes(ctor: Ctor) -> st.SearchStrategy[dict[str, tuple[int, ...]]]:
        k, p = ctor["kernel_size"], ctor.get("padding", 0)
        side = sizes(max(1, k - 2 * p), max(1, k - 2 * p) + 3)
        c = st.just(ctor[channels_key]) if channels_key else sizes(1, 2)
        return st.tuples(sizes(1, 2), c, side, side).map(lambda s: {"x": s})

    return shapes


def _conv_params(ctor: Ctor) -> dict[str, tuple[int, ...]]:
    k = ctor["kernel_size"]
    return {"weight": (ctor["out_channels"], ctor["in_channels"], k, k), "bias": (ctor["out_channels"],)}


def _conv_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    return _F().conv2d(i["x"], p["weight"], p["bias"], stride=ctor["stride"], padding=ctor["padding"])


def _conv_edges() -> list[Edge]:
    def conv(ci: int, co: int, k: int, s: int, p: int) -> dict[str, int]:
        return {"in_channels": ci, "out_channels": co, "kernel_size": k, "stride": s, "padding": p}

    return [
        Edge("B = 1, 1×1 kernel, non-square image", conv(1, 1, 1, 1, 0), {"x": (1, 1, 2, 3)}),
        Edge("B = 17 (larger than any chunk)", conv(1, 2, 2, 1, 0), {"x": (17, 1, 3, 3)}, dtype="float32"),
        Edge("stride > kernel, non-square image", conv(2, 1, 2, 3, 0), {"x": (2, 2, 5, 4)}),
        Edge("odd kernel, padding kernel/2, stride 2", conv(1, 2, 3, 2, 1), {"x": (2, 1, 4, 5)}),
        Edge("even kernel, padding 1, largest channels", conv(2, 2, 2, 1, 1), {"x": (1, 2, 3, 2)}),
        Edge("padding 2 > kernel/2, 3×3 kernel", conv(1, 1, 3, 1, 2), {"x": (2, 1, 2, 2)}),
    ]


CONV_SUMMARY = "2-d cross-correlation as torch.nn.functional.conv2d (stride, zero padding)"

CONV2D = register(
    Kind(
        name="conv2d",
        summary=CONV_SUMMARY + " (NumPy module)",
        protocol="numpy",
        builtin=("layers:Conv2dModule",),
        ctor=_conv_ctor,
        shapes=_image("in_channels"),
        params=_conv_params,
        reference=_conv_ref,
        regimes=("normal", "large"),
        edges=_conv_edges,
        invariants=(inv.linear_in_x,),
    )
)

register(
    replace(
        CONV2D,
        name="conv2d_function",
        summary=CONV_SUMMARY + " (torch.autograd.Function, manual backward)",
        protocol="function",
        builtin=("layers:Conv2dFunction",),
        call=lambda ctor, v: (v["x"], v["weight"], v["bias"], ctor["stride"], ctor["padding"]),
    )
)


@st.composite
def _pool_ctor(draw: Any) -> dict[str, Any]:
    k = draw(sizes(1, 3))
    return {
        "kernel_size": k,
        "stride": draw(st.none() | sizes(1, 4)),
        "padding": draw(st.integers(0, k // 2)),
    }


def _pool_inputs(case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    shared = case.regime == "shared_max"
    x = make_values("normal" if shared else case.regime, rng, case.shapes["x"], case.scale)
    if shared:  # one maximum inside two overlapping windows (in each direction): its gradient is their sum
        k, p = case.ctor["kernel_size"], case.ctor["padding"]
        s = case.ctor["stride"] or k
        i = max(s - p, 0)  # in window 0, [−p, k − p), and window 1, [s − p, s + k − p), when s < k
        x[:, :, i, i] = np.abs(x).max() + case.scale
    return {"x": x}


def _pool_edges() -> list[Edge]:
    def pool(k: int, s: int | None, p: int) -> dict[str, Any]:
        return {"kernel_size": k, "stride": s, "padding": p}

    return [
        Edge("overlapping windows sharing one maximum", pool(3, 1, 0), {"x": (2, 1, 4, 5)}, "shared_max"),
        Edge("overlapping windows with padding, shared maximum", pool(2, 1, 1), {"x": (1, 2, 3, 3)}, "shared_max"),
        Edge("stride > kernel, non-square image", pool(2, 3, 0), {"x": (1, 2, 5, 7)}),
        Edge("default stride, even kernel, padding kernel/2", pool(2, None, 1), {"x": (2, 1, 4, 4)}),
        Edge("B = 1, kernel 1", pool(1, None, 0), {"x": (1, 1, 2, 3)}),
        Edge("B = 17 (larger than any chunk), ties", pool(2, 2, 0), {"x": (17, 1, 2, 4)}, "ties", dtype="float32"),
        Edge("odd kernel, stride 2, padding 1", pool(3, 2, 1), {"x": (2, 1, 5, 3)}),
    ]


register(
    Kind(
        name="maxpool2d",
        summary="2-d max pooling as torch.nn.functional.max_pool2d (padding counts as −∞)",
        protocol="numpy",
        builtin=("layers:MaxPool2dModule",),
        ctor=_pool_ctor,
        shapes=_image(None),
        params=no_params,
        reference=lambda ctor, i, p: _F().max_pool2d(
            i["x"], ctor["kernel_size"], ctor["stride"] or ctor["kernel_size"], ctor["padding"]
        ),
        regimes=("normal", "ties", "large"),
        make_inputs=_pool_inputs,
        edges=_pool_edges,
        kinks="ties within a window (the gradient must go to exactly one maximum)",
        invariants=(inv.pool_passes_upstream_once,),
    )
)


# --- network ---------------------------------------------------------------------------------------------


def _mlp_ctor() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "n_inputs": sizes(1, 4),
            "n_hidden": st.lists(sizes(1, 4), min_size=0, max_size=2),
            "n_classes": sizes(1, 3),
        }
    )


def _mlp_dims(ctor: Ctor) -> list[int]:
    return [ctor["n_inputs"], *ctor["n_hidden"], ctor["n_classes"]]


def _mlp_params(ctor: Ctor) -> dict[str, tuple[int, ...]]:
    # Canonical names; the network's own names (layers.0.weight, hidden.1.W, …) are matched by the layout.
    dims = _mlp_dims(ctor)
    shapes: dict[str, tuple[int, ...]] = {}
    for k, (n_in, n_out) in enumerate(itertools.pairwise(dims)):
        shapes[f"linear{k}.weight"] = (n_out, n_in)
        shapes[f"linear{k}.bias"] = (n_out,)
    return shapes


def _mlp_ref(ctor: Ctor, i: Mapping[str, Any], p: Mapping[str, Any]) -> Any:
    h = i["x"]
    n = len(_mlp_dims(ctor)) - 1
    for k in range(n):
        h = _F().linear(h, p[f"linear{k}.weight"], p[f"linear{k}.bias"])
        h = _F().relu(h) if k < n - 1 else _F().softmax(h, dim=1)
    return h


register(
    Kind(
        name="mlp",
        summary="NumPy MLP: (Linear → ReLU)* → Linear → SoftMax; parameters are its sub-modules'",
        protocol="numpy",
        builtin=("layers:MLP",),
        ctor=_mlp_ctor,
        shapes=matrix(features="n_inputs"),
        params=_mlp_params,
        network=True,
        reference=_mlp_ref,
        regimes=("normal", "large"),
        edges=lambda: [
            Edge("B = 1, no hidden layer, one class", {"n_inputs": 1, "n_hidden": [], "n_classes": 1}, {"x": (1, 1)}),
            Edge("B = 33 (larger than any chunk)", {"n_inputs": 3, "n_hidden": [4], "n_classes": 2}, {"x": (33, 3)}),
            Edge(
                "two hidden layers, square weights", {"n_inputs": 3, "n_hidden": [3, 3], "n_classes": 3}, {"x": (2, 3)}
            ),
            Edge("largest sizes", {"n_inputs": 4, "n_hidden": [4, 2], "n_classes": 3}, {"x": (3, 4)}, dtype="float32"),
        ],
        kinks="ReLU hidden units at 0",
    )
)
