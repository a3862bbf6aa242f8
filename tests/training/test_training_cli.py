from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from layers.training.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["resnet"], "invalid choice: 'resnet'"),
        ([], "the following arguments are required: MODEL"),
        (["mlp-numpy", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["mlp-numpy", "--steps", "0"], "expected a positive int, got '0'"),
        (["mlp-numpy", "--lr", "fast"], "expected a positive float, got 'fast'"),
        (["mlp-torch", "--hidden", "100,x"], "expected comma-separated widths"),
        (["mlp-torch", "--betas", "0.9"], "expected two floats"),
        (["mlp-torch", "--betas", "0.9,1.5"], "betas must lie in [0, 1)"),
        (["mlp-numpy", "--weight-decay", "0.01"], "--weight-decay applies to the torch models"),
        (["mlp-numpy", "--custom"], "--custom applies to the torch models"),
        (["mlp-numpy", "--threads", "1"], "--threads applies to the torch models"),
        (["convnet", "--hidden", "10"], "--hidden applies to the MLPs"),
        (["mlp-torch", "--device", "cuda:0"], "CUDA is not available"),
        (["mlp-numpy", "--batch-size", "5000"], "exceeds the 1437 training examples"),
        (["mlp-numpy", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_usage_errors_return_2_with_one_line(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "cuda:0" in argv:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
    assert main([*argv, "--out-dir", str(tmp_path)] if argv else argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gradcheck train: error: ")
    assert expected in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_missing_cifar_directory_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mlp-numpy", "--dataset", "cifar10", "--data-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{tmp_path / 'none' / 'cifar-10-batches-py'}" in err and "data_batch_1" in err


def test_help_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--weight-decay" in capsys.readouterr().out


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "layers.training", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr and "Traceback" not in proc.stderr


def test_import_is_light() -> None:
    code = (
        "import sys, layers.training; "
        "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib', 'tqdm') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_public_api() -> None:
    import layers.training as training

    assert sorted(training.__all__) == sorted(
        name for name in dir(training) if not name.startswith("_") and name in training.__all__
    )
    for name in training.__all__:
        assert getattr(training, name) is not None
