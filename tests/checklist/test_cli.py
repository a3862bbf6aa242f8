"""``gradcheck check KIND path/to/file.py:Class``: exit status, text and JSON output, usage errors, ``list``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradcheck.cli import main

MUTANTS = Path(__file__).resolve().parents[1] / "mutants"
GOOD = f"{MUTANTS / 'activations.py'}:ReLUSubgradientOneAtZero"
BAD = f"{MUTANTS / 'activations.py'}:ReLUZeroesDoutInPlace"
FAST = ["--max-examples", "4", "--property", "interface", "--property", "purity"]


def test_passing_layer_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "relu", GOOD, *FAST]) == 0
    out = capsys.readouterr().out
    assert "passed" in out and "purity" in out


def test_failing_layer_exits_1_with_the_failure_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "relu", BAD, *FAST]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert "the upstream gradient dout" in out
    assert f"reproduce: gradcheck check relu {BAD}" in out


def test_json_is_one_object_with_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "relu", BAD, *FAST, "--seed", "5", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {"passed", "kind", "target", "seed", "properties"} <= data.keys()
    assert (data["passed"], data["kind"], data["target"], data["seed"]) == (False, "relu", BAD, 5)
    statuses = {p["name"]: p["status"] for p in data["properties"]}
    assert statuses == {"interface": "pass", "purity": "fail"}
    for p in data["properties"]:
        assert {"name", "status", "message"} <= p.keys()
        if p["status"] == "fail":
            assert p["example"].startswith("relu(") and "--property purity" in p["reproduce"]


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["check", "no_such_kind", GOOD], "unknown kind 'no_such_kind'"),
        (["check", "relu", f"{MUTANTS / 'missing.py'}:ReLU"], "no such file"),
        (["check", "relu", f"{MUTANTS / 'activations.py'}:NoSuchClass"], "has no attribute 'NoSuchClass'"),
        (["check", "relu", "no_such_package.module:ReLU"], "cannot import no_such_package.module"),
        (["check", "relu", "activations.py"], "must be 'path/to/file.py:ClassName'"),
        (["check", "relu", "file.py:not-an-identifier"], "expected 'FILE.py:ClassName'"),
    ],
    ids=["unknown-kind", "missing-file", "missing-class", "unimportable-module", "no-colon", "bad-class-name"],
)
def test_usage_errors_exit_2_with_a_one_line_reason(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcheck: error: ") and reason in lines[0], captured.err


def test_python_m_gradcheck_list() -> None:
    done = subprocess.run([sys.executable, "-m", "gradcheck", "list"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("relu", "batchnorm_function", "conv2d", "mlp", "input_gradient", "purity", "state"):
        assert name in done.stdout


@pytest.mark.parametrize(("statement", "code"), [("sys.exit(0)", 1), ("raise KeyboardInterrupt", 130)])
def test_the_process_exit_status_is_the_harness_verdict_not_the_layers(
    tmp_path: Path, statement: str, code: int
) -> None:
    # A real process: exit(0) in the layer must not end the run green; Ctrl-C ends it with 130 and a report.
    path = tmp_path / "student.py"
    path.write_text(
        "import sys\nimport numpy as np\n\n\nclass ReLUModule:\n    def forward(self, x):\n        self.x = x\n"
        "        return np.maximum(x, 0)\n\n    def backward(self, dout):\n"
        f"        {statement}\n"
    )
    argv = ["check", "relu", f"{path}:ReLUModule", "--max-examples", "2", "--property", "forward"]
    argv += ["--property", "input_gradient"]
    done = subprocess.run([sys.executable, "-m", "gradcheck", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stderr
    assert "forward" in done.stdout and "Traceback" not in done.stderr


def test_a_hard_exit_in_the_layer_is_its_error_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    path = tmp_path / "student.py"
    path.write_text(
        "import os\nimport numpy as np\n\n\nclass ReLUModule:\n    def forward(self, x):\n        os._exit(0)\n\n"
        "    def backward(self, dout):\n        return dout\n"
    )
    hard_exit = os._exit
    assert main(["check", "relu", f"{path}:ReLUModule", "--max-examples", "2", "--property", "forward"]) == 1
    assert os._exit is hard_exit  # put back after the run
    out = capsys.readouterr().out
    assert "raised SystemExit" in out and "os._exit(0)" in out
