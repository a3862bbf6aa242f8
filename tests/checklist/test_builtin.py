"""The whole checklist passes on every built-in layer of every kind (the harness's main job, as ``--all`` runs it),
with no warning and no property skipped that should have run."""

from __future__ import annotations

import pytest
import torch

from gradcheck.checklist.runner import check_kind
from gradcheck.kinds import KINDS, get_kind
from gradcheck.loading import load_target
from gradcheck.report.checklist import render_failure

get_kind("relu")  # loads the built-in declarations
# tests/test_builtin_layers.py runs every property on these at the profile's full count (one test per property);
# here each layer gets the whole checklist in one report, at fewer examples, so that both stay affordable.
EXAMPLES = 8
TARGETS = [(kind.name, target) for kind in KINDS.values() for target in kind.builtin]

# What each kind skips, stated from the contract rather than computed with the properties' own ``applies``:
# a NumPy layer has no device, no double backward and no nn.Module contract; only networks are trained; a layer
# without parameters has no parameter gradients; a loss's scalar output has no upstream gradient to scale.
NUMPY = {"device_parity", "double_backward", "module_contract", "trainability"}
NO_PARAMS = {"param_gradients"}
FUNCTION = {"module_contract", "trainability", "double_backward"}
MODULE = {"double_backward", "trainability"}
SKIPS = {
    "relu": NUMPY | NO_PARAMS,
    "leaky_relu": NUMPY | NO_PARAMS,
    "elu": NUMPY | NO_PARAMS,
    "softmax": NUMPY | NO_PARAMS,
    "cross_entropy": NUMPY | NO_PARAMS | {"upstream_linearity"},
    "linear": NUMPY,
    "linear_function": FUNCTION - {"double_backward"},  # the one kind that declares double backward
    "batchnorm": NUMPY,
    "batchnorm_function": FUNCTION,
    "batchnorm_module": MODULE,
    "layernorm_function": FUNCTION,
    "layernorm_module": MODULE,
    "conv2d": NUMPY,
    "conv2d_function": FUNCTION,
    "maxpool2d": NUMPY | NO_PARAMS,
    "mlp": NUMPY - {"trainability"} | {"invariants"},
}
#: Skipped at run time where there is no GPU (the reason says so).
MACHINE_SKIPS = set() if torch.cuda.is_available() else {"device_parity"}


def test_every_kind_has_a_builtin_layer() -> None:
    assert {k for k, _ in TARGETS} == set(KINDS) == set(SKIPS)


@pytest.mark.parametrize(("kind", "target"), TARGETS, ids=[f"{k}-{t}" for k, t in TARGETS])
def test_builtin_layer_passes_the_checklist(kind: str, target: str) -> None:
    report = check_kind(kind, load_target(target).obj, label=target, max_examples=EXAMPLES)
    shown = "\n\n".join(render_failure(p, kind) for p in report.properties if p.status in ("warn", "fail", "error"))
    assert report.verdict == "pass", f"{kind} · {target}: {report.counts}\n{shown}"
    skipped = {p.name for p in report.properties if p.status == "skip"}
    assert skipped == SKIPS[kind] | MACHINE_SKIPS, {p.name: p.reason for p in report.properties if p.name in skipped}
