"""Edge cases, stratified cases, purity from before the forward, interleaved instances, rebound parameters and
nested sub-modules (issue 12): the wrong variants of ``mutants.edge_cases`` fail under ``dev`` on every seed 0–9
(their correct twins pass the whole checklist in ``test_mutants.py``, which runs every family), and the explicit
cases cover what they say they cover.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mutants import Variant
from mutants.edge_cases import VARIANTS

from gradcheck.checklist.runner import check_kind
from gradcheck.kinds import KINDS, get_kind

WRONG = [v for v in VARIANTS if not v.correct]
SEEDS = range(10)


@pytest.mark.parametrize("variant", WRONG, ids=lambda v: v.id)
def test_wrong_variant_fails_under_dev_on_every_seed(variant: Variant) -> None:
    missed = []
    for seed in SEEDS:
        report = check_kind(variant.kind, variant.cls, seed=seed, profile="dev", properties=list(variant.catches))
        failed = {p.name for p in report.properties if p.status == "fail"}  # a crash is not a catch
        if not failed & set(variant.catches):
            missed.append(seed)
    assert not missed, f"{variant.id} ({variant.why}) passed {list(variant.catches)} on seeds {missed}"


def test_network_layout_notes_are_one_per_sub_layer_and_consistent() -> None:
    from mutants.edge_cases import MLPInOutLinears

    notes = check_kind("mlp", MLPInOutLinears, seed=0, profile="dev").notes
    layout = [n for n in notes if n.startswith("parameter layout")]
    owners = [n.split(":")[0] for n in layout]
    assert layout and len(owners) == len(set(owners)), notes
    assert all("weight as W, transposed" in n and "bias as b, shape (n, 1)" in n for n in layout), layout


# --- what the explicit cases cover -------------------------------------------------------------------------------

get_kind("relu")  # loads the built-in declarations
BUILTIN = [k for k in KINDS.values() if k.builtin]


@pytest.mark.parametrize("kind", BUILTIN, ids=lambda k: k.name)
def test_explicit_cases_are_few_small_and_stratified(kind) -> None:
    cases = kind.explicit_cases()
    assert 5 <= len(cases) <= 12
    assert set(kind.regimes) <= {c.regime for c in cases}, "every value regime at least once"
    assert {c.dtype for c in cases} == {"float64", "float32"}
    assert min(c.batch for c in cases) == kind.min_batch
    images = len(next(iter(cases[0].shapes.values()))) == 4
    assert max(c.batch for c in cases) >= (17 if images else 33), "a batch larger than any plausible chunk"
    for c in cases:
        inputs, _ = kind.materialise(c)
        assert all(np.isfinite(v).all() for v in inputs.values()), c
        assert sum(v.size for v in inputs.values()) <= 300, "explicit cases stay small"


@pytest.mark.parametrize("kind", BUILTIN, ids=lambda k: k.name)
def test_explicit_cases_vary_with_the_seed_only_in_their_values(kind) -> None:
    a, b = kind.explicit_cases(0), kind.explicit_cases(1)
    assert [(c.ctor, c.shapes, c.regime, c.label) for c in a] == [(c.ctor, c.shapes, c.regime, c.label) for c in b]
    assert [c.seed for c in a] != [c.seed for c in b]


def test_pooling_edges_share_a_maximum_between_overlapping_windows() -> None:
    kind = get_kind("maxpool2d")
    shared = [c for c in kind.explicit_cases() if c.regime == "shared_max"]
    assert shared
    for case in shared:
        x = torch.from_numpy(kind.materialise(case)[0]["x"])
        k, s, p = case.ctor["kernel_size"], case.ctor["stride"] or case.ctor["kernel_size"], case.ctor["padding"]
        assert s < k
        _, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        planes = idx.reshape(idx.shape[0] * idx.shape[1], -1).numpy()
        counts = np.array([np.bincount(plane).max() for plane in planes])
        assert (counts >= 2).all(), "some maximum is the maximum of two windows"


def test_pooling_edges_cover_stride_kernel_padding_strata() -> None:
    ctors = [c.ctor for c in get_kind("maxpool2d").explicit_cases()]
    strides = [(c["stride"] or c["kernel_size"], c["kernel_size"]) for c in ctors]
    assert any(s < k for s, k in strides) and any(s > k for s, k in strides)
    assert {c["kernel_size"] % 2 for c in ctors} == {0, 1}
    assert any(c["padding"] == c["kernel_size"] // 2 > 0 for c in ctors)
    assert any(c["stride"] is None for c in ctors)


def test_image_edges_include_non_square_images() -> None:
    for name in ("conv2d", "maxpool2d"):
        assert any(c.shapes["x"][2] != c.shapes["x"][3] for c in get_kind(name).explicit_cases()), name


def test_cross_entropy_edge_has_exact_zeros_at_non_label_classes_and_a_finite_oracle() -> None:
    kind = get_kind("cross_entropy")
    case = next(c for c in kind.explicit_cases() if c.regime == "zeros")
    inputs, _ = kind.materialise(case)
    x, y = inputs["x"], inputs["y"]
    assert (x == 0).any() and not (x[y == 1] == 0).any()
    np.testing.assert_allclose(x.sum(axis=1), 1.0)
    xt = torch.from_numpy(x).requires_grad_(True)
    loss = kind.reference({}, {"x": xt, "y": torch.from_numpy(y)}, {})
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(xt.grad).all()
    assert (xt.grad[torch.from_numpy(x == 0)] == 0).all()


@pytest.mark.parametrize("name", ["linear", "leaky_relu", "elu", "batchnorm", "layernorm_function", "mlp"])
def test_constructor_arguments_appear_at_the_ends_of_their_ranges(name: str) -> None:
    ctors = [c.ctor for c in get_kind(name).explicit_cases()]
    for key in ctors[0]:
        values = [c[key] for c in ctors if isinstance(c[key], int | float)]
        if values:
            assert len(set(values)) >= 2, f"{name}.{key} takes a single value in the explicit cases"
