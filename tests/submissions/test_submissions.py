"""``gradcheck check DIR``: a generated batch of submissions with known verdicts, each checked in its own process."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gradcheck.cli import main
from gradcheck.submissions import discover, submissions_in
from gradcheck.submissions.report import render

RELU = """
import numpy as np

class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        {backward}
"""

LINEAR = """
import numpy as np

class LinearModule:
    def __init__(self, in_features, out_features):
        self.params = {{"weight": np.random.randn(out_features, in_features) * 0.01, "bias": np.zeros(out_features)}}
        self.grads = {{k: np.zeros_like(v) for k, v in self.params.items()}}

    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.{bias}(axis=0)
        return dout @ self.params["weight"]
"""

SOFTMAX = """
import numpy as np

class SoftMaxModule:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.s = e / e.sum(axis=1, keepdims=True)
        return self.s

    def backward(self, dout):
        s = self.s
        return s * (dout - (dout * s).sum(axis=1, keepdims=True))
"""

CONVNET = """
import torch.nn as nn

class ConvNet(nn.Module):
    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.fc = nn.Linear(n_channels, n_classes)
"""

GOOD_BACKWARD = "return dout * (self.x > 0)"

#: Submission name → files, and the expected rows: (class, kind, verdict, first failing property or "").
BATCH: dict[str, tuple[dict[str, str], list[tuple[str, str | None, str, str]]]] = {
    "s01_good_relu": ({"modules.py": RELU.format(backward=GOOD_BACKWARD)}, [("ReLUModule", "relu", "pass", "")]),
    "s02_wrong_relu": (
        {"modules.py": RELU.format(backward="return dout * (self.x < 0)")},
        [("ReLUModule", "relu", "fail", "input_gradient")],
    ),
    "s03_good_linear_softmax": (
        {"modules.py": LINEAR.format(bias="sum") + SOFTMAX},
        [("LinearModule", "linear", "pass", ""), ("SoftMaxModule", "softmax", "pass", "")],
    ),
    "s04_mean_bias": (
        {"modules.py": LINEAR.format(bias="mean")},
        [("LinearModule", "linear", "fail", "param_gradients")],
    ),
    "s05_hangs": (
        {"modules.py": RELU.format(backward="while True:\n            pass")},
        [("ReLUModule", "relu", "timeout", "")],
    ),
    "s06_crashes": (
        {"modules.py": "import os\n" + RELU.format(backward="os.abort()")},
        [("ReLUModule", "relu", "error", "")],
    ),
    "s07_import_error": (
        {"modules.py": "import not_a_real_package_xyz\n" + RELU.format(backward=GOOD_BACKWARD)},
        [("ReLUModule", "relu", "error", "")],
    ),
    "s08_exit_on_import": (
        {"modules.py": "import sys\n" + RELU.format(backward=GOOD_BACKWARD) + "\nsys.exit(0)\n"},
        [("ReLUModule", "relu", "error", "")],
    ),
    "s09_exit_in_backward": (
        {"modules.py": "import sys\n" + RELU.format(backward="sys.exit(0)")},
        [("ReLUModule", "relu", "error", "interface")],  # the first property that calls backward
    ),
    "s10_convnet_only": ({"convnet.py": CONVNET}, [("ConvNet", None, "not checked", "")]),
    "s11_syntax_error": ({"modules.py": "class ReLUModule(:\n    pass\n"}, [("-", None, "error", "")]),
    "s12_sibling_import": (
        {
            "helpers.py": "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)\n",
            "modules.py": RELU.format(backward=GOOD_BACKWARD)
            .replace("np.maximum(x, 0)", "relu(x)")
            .replace("import numpy as np", "import numpy as np\nfrom helpers import relu"),
        },
        [("ReLUModule", "relu", "pass", "")],
    ),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("submissions")
    for name, (files, _) in BATCH.items():
        (root / name).mkdir()
        for file, text in files.items():
            (root / name / file).write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def table(batch: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("out") / "table.json"
    args = [str(batch), "--jobs", "2", "--timeout", "45", "--max-examples", "2", "--format", "json", "--out", str(out)]
    code = main(["check", *args])
    data = json.loads(out.read_text())
    data["exit"] = code
    return data


def test_discovery_reads_the_source_without_importing_it(batch: Path):
    subs = submissions_in([batch])
    assert [s.name for s in subs] == sorted(BATCH)
    found = {s.name: [(t.cls, t.kind) for t in s.targets] for s in subs}
    assert found["s03_good_linear_softmax"] == [("LinearModule", "linear"), ("SoftMaxModule", "softmax")]
    assert found["s10_convnet_only"] == [("ConvNet", None)]
    # A directory of .py files is itself one submission.
    assert [t.cls for t in discover(batch / "s01_good_relu").targets] == ["ReLUModule"]


def test_every_submission_gets_its_known_verdict(table: dict):
    got = {(r["submission"], r["cls"]): (r["kind"], r["status"], r["prop"]) for r in table["rows"]}
    want = {(s, c): (k, v, p) for s, (_, rows) in BATCH.items() for c, k, v, p in rows}
    assert got == want
    assert table["exit"] == 1 and table["passed"] is False


def test_reasons_say_what_stopped_each_check(table: dict):
    reason = {r["submission"]: r["reason"] for r in table["rows"]}
    assert "no verdict within 45 s" in reason["s05_hangs"]
    assert "SIGABRT" in reason["s06_crashes"]
    assert "not_a_real_package_xyz" in reason["s07_import_error"]
    assert "exit(0)" in reason["s08_exit_on_import"]
    assert "SystemExit" in reason["s09_exit_in_backward"] or "exit" in reason["s09_exit_in_backward"]
    assert "SyntaxError" in reason["s11_syntax_error"]
    assert "1/B" in reason["s04_mean_bias"]


def test_renderings(table: dict):
    from gradcheck.submissions.batch import Row

    rows = [Row(**{k: v for k, v in r.items()}) for r in table["rows"]]
    text = render(rows, "text")
    assert "s05_hangs" in text and "timeout" in text and "16 checks" not in text
    assert text.splitlines()[-1].startswith(f"{len(rows)} checks in {len(BATCH)} submissions")
    md = render(rows, "markdown")
    assert md.count("\n| s") == len(rows)
    suites = ET.fromstring(render(rows, "junit"))
    cases = suites.findall(".//testcase")
    assert len(cases) == len(rows)
    assert len(suites.findall(".//failure")) == 2
    assert len(suites.findall(".//error")) == 6  # five errors and the timeout
    assert len(suites.findall(".//skipped")) == 1


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["check", str(tmp_path), "--jobs", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_kinds_are_matched_by_name_and_protocol(tmp_path: Path):
    (tmp_path / "mods.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn
            from torch.autograd import Function
            from course_base import Base

            class _Elementwise:
                pass

            class ReLUModule(_Elementwise):
                pass

            class CustomBatchNormManualFunction(Function):
                pass

            class CustomBatchNormManualModule(nn.Module):
                pass

            class CustomLayerNormAutograd(Base):
                pass

            class MLP(torch.nn.Module):
                pass
            """
        )
    )
    found = {t.cls: (t.kind, t.reason) for t in discover(tmp_path).targets}
    assert found["ReLUModule"] == ("relu", "")  # a local base passes its protocol on
    assert found["CustomBatchNormManualFunction"][0] == "batchnorm_function"
    assert found["CustomBatchNormManualModule"][0] == "batchnorm_module"
    assert found["CustomLayerNormAutograd"][0] == "layernorm_module"  # imported base: the name's only kind
    assert found["MLP"] == (None, "not checked: no built-in kind for MLP as a torch.nn.Module")
