"""The whole checklist passes on every built-in layer of every kind (the harness's main job, as ``--all`` runs it)."""

from __future__ import annotations

import pytest

from gradcheck.checklist.runner import check_kind
from gradcheck.kinds import KINDS, get_kind
from gradcheck.loading import load_target

get_kind("relu")  # loads the built-in declarations
# tests/test_builtin_layers.py runs every property on these at the profile's full count (one test per property);
# here each layer gets the whole checklist in one report, at fewer examples, so that both stay affordable.
EXAMPLES = 8
TARGETS = [(kind.name, target) for kind in KINDS.values() for target in kind.builtin]


def test_every_kind_has_a_builtin_layer() -> None:
    assert {k for k, _ in TARGETS} == set(KINDS)


@pytest.mark.parametrize(("kind", "target"), TARGETS, ids=[f"{k}-{t}" for k, t in TARGETS])
def test_builtin_layer_passes_the_checklist(kind: str, target: str) -> None:
    report = check_kind(kind, load_target(target).obj, label=target, max_examples=EXAMPLES)
    bad = [p for p in report.properties if p.status in ("fail", "error")]
    details = "\n\n".join(f"{p.name}: {p.message}\nexample: {p.example}\nreproduce: {p.reproduce}" for p in bad)
    assert report.passed, f"{kind} · {target} failed {[p.name for p in bad]}:\n{details}"
    ran = [p for p in report.properties if p.status == "pass"]
    assert {"interface", "forward", "input_gradient", "autograd_agreement"} <= {p.name for p in ran}
