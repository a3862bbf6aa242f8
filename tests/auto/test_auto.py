"""``check_layer``: six layers without a built-in kind pass, and their wrong twins fail on a gradient property."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

import gradcheck
import gradcheck.testing
from gradcheck.auto import NoOracle, infer
from gradcheck.cli import main
from gradcheck.errors import InvalidArgument

from . import layers as L

CONV = {"in_channels": 2, "out_channels": 3, "kernel_size": 3}
GRU = {"input_size": 4, "hidden_size": 5}

#: name → (correct, wrong, example, ctor, the property the wrong twin must fail).
LAYERS: dict[str, tuple[Any, Any, dict[str, Any], dict[str, Any] | None, str]] = {
    "gelu": (L.GELUModule, L.GELUModuleWrong, {"x": (4, 5)}, None, "input_gradient"),
    "swish": (L.SwishFunction, L.SwishFunctionWrong, {"x": (4, 5), "beta": 1.5}, None, "input_gradient"),
    "attention": (
        L.AttentionFunction,
        L.AttentionFunctionWrong,
        {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 3)},
        None,
        "input_gradient",
    ),
    "dropout": (
        L.FixedDropoutModule,
        L.FixedDropoutModuleWrong,
        {"x": (4, 6)},
        {"p": 0.3, "seed": 1},
        "input_gradient",
    ),
    "conv1d": (L.Conv1dModule, L.Conv1dModuleWrong, {"x": (3, 2, 7)}, CONV, "param_gradients"),
    "gru": (L.GRUCell, L.GRUCellWrong, {"x": (3, 4), "h": (3, 5)}, GRU, "input_gradient"),
}


def _check(cls: Any, example: dict[str, Any], ctor: dict[str, Any] | None, **kw: Any) -> Any:
    # Time is a benchmark's business (the ≤ 10 s budget is measured, not asserted: CI machines are shared).
    return gradcheck.check_layer(cls, example, ctor=ctor, profile="dev", seed=0, **kw)


@pytest.mark.parametrize("name", LAYERS)
def test_correct_layer_never_fails(name: str):
    good, _, example, ctor, _ = LAYERS[name]
    report = _check(good, example, ctor)
    statuses = {p.name: p.status for p in report.properties}
    assert report.passed, statuses
    assert "fail" not in statuses.values() and "error" not in statuses.values()
    # Every oracle-free gradient property actually ran.
    assert statuses["input_gradient"] == "pass"
    assert statuses["upstream_linearity"] == "pass" and statuses["determinism"] == "pass"
    assert statuses["dtype_parity"] == "pass" and statuses["state"] == "pass"
    # Swish recomputes σ(βx) in backward: a true double backward; attention saves P from forward: a warning.
    assert statuses["double_backward"] == {"swish": "pass", "attention": "warn"}.get(name, "skip")


@pytest.mark.parametrize("name", LAYERS)
def test_wrong_twin_fails_on_a_gradient_property(name: str):
    _, wrong, example, ctor, expected = LAYERS[name]
    report = _check(wrong, example, ctor)
    failed = {p.name for p in report.properties if p.status == "fail"}
    assert expected in failed, {p.name: p.status for p in report.properties}
    assert not any(p.status == "error" for p in report.properties), "a wrong layer must fail, not crash"


def test_oracle_properties_say_how_to_add_one():
    report = _check(L.GELUModule, {"x": (4, 5)}, None)
    skipped = {p.name: p.reason for p in report.properties if p.status == "skip"}
    for name in ("forward", "autograd_agreement", "invariants"):
        assert "--reference MODULE:FUNC" in skipped[name]
    how = next(n for n in report.notes if n.startswith("no reference"))
    assert "`reference`" in how and "`invariants`" in how and "keywords" in how


def test_with_a_reference_the_oracle_properties_run():
    import torch.nn.functional as F

    tanh_gelu = functools.partial(F.gelu, approximate="tanh")
    ok = _check(L.GELUModule, {"x": (4, 5)}, None, reference=tanh_gelu)
    assert {p.name: p.status for p in ok.properties}["forward"] == "pass" and ok.passed
    # The exact (erf) GELU is another function: forward against it fails.
    erf = _check(L.GELUModule, {"x": (4, 5)}, None, reference=F.gelu)
    assert {p.name: p.status for p in erf.properties}["forward"] == "fail"

    def conv_ref(x: Any, weight: Any, bias: Any) -> Any:
        return F.conv1d(x, weight, bias)

    conv = _check(L.Conv1dModule, {"x": (3, 2, 7)}, CONV, reference=conv_ref)
    statuses = {p.name: p.status for p in conv.properties}
    assert statuses["forward"] == statuses["autograd_agreement"] == "pass"


def test_inference_notes():
    found = infer(L.AttentionFunction, {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 3)})
    assert found.kind.batched == ("q", "k", "v") and found.kind.found_semantics == "per_sample"
    assert found.kind.double_backward  # its backward builds a graph
    swish = infer(L.SwishFunction, {"x": (4, 5), "beta": 1.5})
    assert any("beta=1.5" in n for n in swish.notes)
    drop = infer(L.FixedDropoutModule, {"x": (4, 6)}, ctor={"p": 0.3, "seed": 1})
    assert drop.kind.found_semantics == "batch_coupled"  # the mask is drawn for the whole batch
    gru = infer(L.GRUCell, {"x": (3, 4), "h": (3, 5)}, ctor=GRU)
    assert set(gru.kind.params({})) == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert not gru.kind.has_oracle
    with pytest.raises(NoOracle):
        gru.kind.reference({}, {}, {})


def test_a_loss_is_recognised_and_its_batch_mean_checked():
    class MSE:
        def forward(self, x: Any) -> Any:
            self.x = x
            return (x**2).mean(axis=1).mean()

        def backward(self, dout: Any) -> Any:
            return dout * 2 * self.x / self.x.size

    class MSEWrong(MSE):
        def backward(self, dout: Any) -> Any:
            return dout * 2 * self.x / self.x.shape[1]  # forgets the 1/B of the batch mean

    assert infer(MSE, {"x": (4, 3)}).kind.found_semantics == "loss_mean"
    assert _check(MSE, {"x": (4, 3)}, None).passed
    wrong = {p.name: p.status for p in _check(MSEWrong, {"x": (4, 3)}, None).properties}
    assert wrong["input_gradient"] == "fail" and wrong["batch_semantics"] == "fail"


def test_nondeterministic_layer_fails_determinism():
    import numpy as np

    class NoisyDropout:
        def __init__(self) -> None:
            self.rng = np.random.default_rng(0)

        def forward(self, x: Any) -> Any:
            self.mask = (self.rng.random(x.shape) > 0.5).astype(x.dtype)
            return x * self.mask

        def backward(self, dout: Any) -> Any:
            return dout * self.mask

    statuses = {p.name: p.status for p in _check(NoisyDropout, {"x": (3, 4)}, None).properties}
    assert statuses["determinism"] == "fail"


def test_bad_examples_are_usage_errors():
    with pytest.raises(InvalidArgument, match="float array"):
        gradcheck.check_layer(L.SwishFunction, {"beta": 1.5})
    with pytest.raises(InvalidArgument, match="forward"):
        gradcheck.check_layer(len, {"x": (2, 3)})


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    target = f"{Path(L.__file__)}:Conv1dModule"
    args = ["check", "auto", target, "--example", "x=(3, 2, 7)", "--ctor", "in_channels=2, out_channels=3"]
    code = main([*args, "--ctor", "kernel_size=3", "--format", "json", "--max-examples", "3"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["passed"] and data["kind"] == "auto:Conv1dModule"
    assert any("batch axis 0" in n for n in data["notes"])
    ref = "torch.nn.functional:gelu"
    gelu = f"{Path(L.__file__)}:GELUModule"
    assert main(["check", "auto", gelu, "--example", "x=(4,5)", "--reference", ref, "--max-examples", "2"]) == 1
    assert "forward" in capsys.readouterr().out
    assert main(["check", "auto", gelu, "--example", "x=(4,5"]) == 2
    assert "name=literal" in capsys.readouterr().err


#: The pytest route: one test per property of the auto checklist (skips carry the reason).
test_gelu_from_example = gradcheck.testing.checklist_from_example(L.GELUModule, {"x": (4, 5)})


def test_reproduce_command_reruns_the_failure(capsys: pytest.CaptureFixture[str]):
    import shlex

    label = f"{Path(L.__file__)}:Conv1dModuleWrong"
    report = _check(L.Conv1dModuleWrong, {"x": (3, 2, 7)}, CONV, label=label)
    (p,) = [p for p in report.properties if p.name == "param_gradients"]
    assert p.status == "fail" and p.reproduce
    argv = shlex.split(p.reproduce)
    assert argv[:3] == ["gradcheck", "check", "auto"] and "--ctor" in argv
    assert main(argv[1:]) == 1
    assert "param_gradients" in capsys.readouterr().out
