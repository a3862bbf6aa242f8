"""Students' files checked as they are: parameter layouts, the 2018 MLP skeleton, prints, sibling imports."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradcheck.checklist.layout import detect_layout
from gradcheck.cli import main

FAST = ["--max-examples", "6"]

LINEAR = """
import numpy as np
print("importing the student's modules")

class LinearModule:
    def __init__(self, in_features, out_features):
        print("building a linear layer", in_features, out_features)
        self.params = {{"weight": np.random.normal(0, 1e-4, {w_shape}), "bias": np.zeros({b_shape})}}
        self.grads = {{k: np.zeros_like(v) for k, v in self.params.items()}}

    def forward(self, x):
        print("forward of a batch of", len(x))
        self.x = x
        return x @ {w_fwd} + self.params["bias"].reshape(1, -1)

    def backward(self, dout):
        self.grads["weight"] = {dw}
        self.grads["bias"] = dout.{bias_reduce}(axis=0).reshape(self.params["bias"].shape)
        return dout @ {w_bwd}
"""

IN_OUT = dict(
    w_shape="(in_features, out_features)",
    w_fwd='self.params["weight"]',
    dw="self.x.T @ dout",
    w_bwd='self.params["weight"].T',
)
OUT_IN = dict(
    w_shape="(out_features, in_features)",
    w_fwd='self.params["weight"].T',
    dw="dout.T @ self.x",
    w_bwd='self.params["weight"]',
)


def write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def linear_file(tmp_path: Path, layout: dict, b_shape: str, bias_reduce: str = "sum") -> str:
    src = LINEAR.format(**layout, b_shape=b_shape, bias_reduce=bias_reduce)
    return write(tmp_path, "modules.py", src) + ":LinearModule"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json", *FAST])
    out = capsys.readouterr().out
    return code, json.loads(out)  # must be one clean JSON object whatever the layer prints


@pytest.mark.parametrize(
    ("layout", "b_shape", "expected_note"),
    [
        (IN_OUT, "(1, out_features)", "weight as weight, transposed"),
        (IN_OUT, "(out_features,)", "weight as weight, transposed"),
        (OUT_IN, "(out_features, 1)", "bias as bias, shape (n, 1)"),
        (OUT_IN, "(1, out_features)", "bias as bias, shape (1, n)"),
    ],
)
def test_correct_linear_in_any_layout_passes_and_says_how_it_was_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: dict, b_shape: str, expected_note: str
) -> None:
    code, report = run_json(capsys, "linear", linear_file(tmp_path, layout, b_shape))
    failing = [p for p in report["properties"] if p["status"] in ("fail", "error")]
    assert code == 0, failing
    assert any(expected_note in n for n in report["notes"]), report["notes"]


def test_wrong_linear_in_student_layout_fails_for_the_right_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_json(capsys, "linear", linear_file(tmp_path, IN_OUT, "(1, out_features)", "mean"))
    status = {p["name"]: p["status"] for p in report["properties"]}
    assert code == 1
    assert status["param_gradients"] == "fail"
    assert status["forward"] == "pass"  # the forward is right: only the bias gradient is wrong


def test_prints_do_not_change_the_verdict_and_show_under_the_failing_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = linear_file(tmp_path, IN_OUT, "(1, out_features)", "mean")
    code = main(["check", "linear", target, *FAST, "--property", "param_gradients"])
    text = capsys.readouterr().out
    assert code == 1
    assert "output printed by the checked code during this property" in text
    assert "| forward of a batch of" in text
    assert "importing the student's modules" in text  # what the module printed on import is noted


def test_square_weight_orientation_is_decided_by_a_forward_probe() -> None:
    # in = out: both orientations fit the shape; the probe prefers the one that reproduces the oracle.
    truth = {"weight": True, "bias": False}

    def probe(layout) -> float:  # type: ignore[no-untyped-def]
        return sum(p.transposed != truth[k] for k, p in layout.placements.items())

    layout = detect_layout({"weight": (3, 3), "bias": (3,)}, {"W": (3, 3), "b": (1, 3)}, probe, "L")
    assert layout.placements["weight"].name == "W"
    assert layout.placements["weight"].transposed
    assert layout.placements["bias"].name == "b" and layout.placements["bias"].shape == (1, 3)


def test_a_layout_that_matches_nothing_is_an_interface_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = dict(IN_OUT, w_shape="(in_features + 1, out_features)")
    code, report = run_json(capsys, "linear", linear_file(tmp_path, bad, "(out_features,)"))
    interface = next(p for p in report["properties"] if p["name"] == "interface")
    assert code == 1
    assert interface["status"] in ("fail", "error")
    assert "no parameter layout matches" in interface["message"] and "found" in interface["message"]


MODULES = """
import numpy as np

class LinearModule:
    def __init__(self, in_features, out_features):
        self.params = {"weight": np.random.normal(0, 1e-4, (out_features, in_features)),
                       "bias": np.zeros((out_features, 1))}
        self.grads = {"weight": np.zeros((out_features, in_features)), "bias": np.zeros((out_features, 1))}
    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"].T
    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=0)[:, None]
        return dout @ self.params["weight"]

class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)
    def backward(self, dout):
        return dout * (self.x > 0)

class SoftMaxModule:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, dout):
        s = self.out
        return s * (dout - (dout * s).sum(axis=1, keepdims=True))
"""

SKELETON_MLP = """
from modules import *

class MLP(object):
    def __init__(self, n_inputs, n_hidden, n_classes):
        sizes = [n_inputs] + list(n_hidden) + [n_classes]
        self.linears = [LinearModule(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.relus = [ReLUModule() for _ in n_hidden]
        self.softmax = SoftMaxModule()

    def forward(self, x):
        for linear, relu in zip(self.linears, self.relus):
            x = relu.forward(linear.forward(x))
        return self.softmax.forward(self.linears[-1].forward(x))

    def backward(self, dout):
        dout = self.linears[-1].backward(self.softmax.backward(dout))
        for linear, relu in reversed(list(zip(self.linears, self.relus))):
            dout = linear.backward({relu_backward})
        return
"""


@pytest.mark.parametrize(("relu_backward", "passes"), [("relu.backward(dout)", True), ("dout", False)])
def test_the_2018_mlp_skeleton_is_checked_through_its_submodules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], relu_backward: str, passes: bool
) -> None:
    write(tmp_path, "modules.py", MODULES)
    target = write(tmp_path, "mlp_numpy.py", SKELETON_MLP.format(relu_backward=relu_backward)) + ":MLP"
    # The wrong one needs only the two gradient properties (a failing property shrinks its case: slow).
    only = [] if passes else ["--property", "input_gradient", "--property", "param_gradients"]
    code, report = run_json(capsys, "mlp", target, *only)
    status = {p["name"]: p for p in report["properties"]}
    # The skeleton's backward returns nothing: kept as a warning (its contract), never as a silent pass.
    assert status["input_gradient"]["status"] == "warn"
    assert "returned None" in json.dumps(status["input_gradient"]["findings"])
    if passes:
        assert code == 0, [p for p in report["properties"] if p["status"] in ("fail", "error")]
    else:
        assert code == 1
        assert status["param_gradients"]["status"] == "fail"  # the missing ReLU mask reaches the weights


BATCHNORM = """
import torch
from torch import nn

class CustomBatchNormAutograd(nn.Module):
    def __init__(self, n_neurons, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(1, n_neurons))
        self.weight = nn.Parameter(torch.ones(1, n_neurons))

    def forward(self, input):
        mean = input.mean(0, keepdim=True)
        var = input.var(0, unbiased=False, keepdim=True)
        return self.weight * (input - mean) / torch.sqrt(var + self.eps) + self.bias
"""


def test_batchnorm_module_with_other_parameter_names_and_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = write(tmp_path, "bn.py", BATCHNORM) + ":CustomBatchNormAutograd"
    code, report = run_json(capsys, "batchnorm_module", target)
    assert code == 0, [p for p in report["properties"] if p["status"] in ("fail", "error")]
    assert any("gamma as weight" in n for n in report["notes"])
    assert any("beta as bias" in n for n in report["notes"])


def test_a_file_shadowing_a_library_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "torch.py", "raise SystemExit('not the real torch')\n")
    target = write(tmp_path, "modules.py", MODULES) + ":LinearModule"
    assert main(["check", "linear", target]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shadows the library 'torch'" in err[0]


def test_a_file_that_fails_to_import_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = write(tmp_path, "broken.py", "import numpy as np\ndef oops(:\n") + ":LinearModule"
    assert main(["check", "linear", target]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot import" in err[0]


def test_the_layout_maps_gradients_back_to_canonical_shapes(tmp_path: Path) -> None:
    import importlib.util

    path = linear_file(tmp_path, IN_OUT, "(1, out_features)").split(":")[0]
    spec = importlib.util.spec_from_file_location("student_linear", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from gradcheck.checklist.trial import Subject, Trial
    from gradcheck.kinds import Case, get_kind

    case = Case("linear", {"in_features": 3, "out_features": 2}, {"x": (4, 3)}, "normal", 1.0, "float64", 1)
    trial = Trial(Subject(get_kind("linear"), module.LinearModule, "student"), case)
    view, values = trial.build()
    grads = view.vjp(values, np.ones((4, 2)))
    assert grads["weight"].shape == (2, 3) and grads["bias"].shape == (2,)
    np.testing.assert_allclose(grads["weight"], np.ones((2, 4)) @ values["x"])
    np.testing.assert_allclose(grads["bias"], np.full(2, 4.0))
