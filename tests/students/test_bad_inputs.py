"""Students' files that try (on purpose or not) to end or fool the harness, or that are not what the kind expects:
``exit()`` in the layer, exceptions in rarely taken branches, a wrong-shaped dx, renamed constructor parameters,
the wrong class for the kind, ``--device cuda`` where it cannot run, Ctrl-C, and usage errors of every kind."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from gradcheck.cli import INTERRUPTED, main

FAST = ["--max-examples", "3"]
SOME = ["--property", "interface", "--property", "forward", "--property", "input_gradient", "--property", "purity"]

LINEAR = """
import sys

import numpy as np


class LinearModule:
    def __init__(self, {signature}):
        self.params = {{"weight": np.random.normal(0, 0.1, ({n_out}, {n_in})), "bias": np.zeros({n_out})}}
        self.grads = {{k: np.zeros_like(v) for k, v in self.params.items()}}
        {init}

    def forward(self, x):
        self.x = x
        {forward}
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(0)
        {backward}
        return {dx}
"""

RELU = """
import numpy as np


class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)
"""


def linear_file(
    tmp_path: Path,
    *,
    n_in: str = "in_features",
    n_out: str = "out_features",
    signature: str = "",
    init: str = "pass",
    forward: str = "pass",
    backward: str = "pass",
    dx: str = 'dout @ self.params["weight"]',
    folder: str = "",
) -> str:
    where = tmp_path / folder if folder else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    parts = dict(init=init, forward=forward, backward=backward, dx=dx)
    src = LINEAR.format(n_in=n_in, n_out=n_out, signature=signature or f"{n_in}, {n_out}", **parts)
    path = where / "modules.py"
    path.write_text(textwrap.dedent(src))
    return f"{path}:LinearModule"


def line_of(target: str, text: str) -> int:
    """The 1-based line of ``text`` in the file of ``target``."""
    lines = Path(target.rpartition(":")[0]).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradcheck: error: "), captured.err
    return lines[0]


# --- exit() in the layer is the layer's error, never the harness's exit ------------------------------------------


@pytest.mark.parametrize("statement", ["sys.exit(0)", "raise SystemExit(3)"], ids=["exit0", "SystemExit3"])
@pytest.mark.parametrize("where", ["init", "forward", "backward"])
def test_exit_in_the_layer_is_an_error_of_the_layer_located_in_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, statement: str
) -> None:
    target = linear_file(tmp_path, **{where: statement})
    code = main(["check", "linear", target, *FAST, *SOME, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    errors = [p for p in report["properties"] if p["status"] == "error"]
    assert errors, report["properties"]
    fault = errors[0]["fault"]
    call = "__init__" if where == "init" else where
    assert (fault["layer"], fault["call"], fault["exc_type"]) == ("LinearModule", call, "SystemExit")
    assert fault["file"] == target.rpartition(":")[0]
    assert fault["line"] == line_of(target, statement) and fault["source"] == statement
    assert not any("internal error" in json.dumps(p) for p in report["properties"])


# --- exceptions located in the user's file, said once -------------------------------------------------------------

RARE = """
import numpy as np


class ReLUModule:
    def forward(self, x):
        self.x = x
        if (np.abs(x) > 100).any():  # only for large inputs: Hypothesis has to find it
            return rescale(x)
        return np.maximum(x, 0)

    def backward(self, dout):
        assert dout.shape == self.x.shape[::-1], "dout has the wrong shape"
        return dout * (self.x > 0)
"""


def test_an_exception_in_a_rarely_taken_branch_is_located_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rare.py"
    path.write_text(textwrap.dedent(RARE))
    code = main(["check", "relu", f"{path}:ReLUModule", *FAST])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{path}:{line_of(f'{path}:x', 'return rescale(x)')}" in out
    assert out.count("return rescale(x)") == 1  # the source line, shown once
    assert out.count("name 'rescale' is not defined") == 1  # the other properties refer to it
    assert "internal error" not in out


def test_a_students_assert_is_the_layers_error_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rare.py"
    path.write_text(textwrap.dedent(RARE))
    code = main(["check", "relu", f"{path}:ReLUModule", *FAST, "--property", "purity", "--format", "json"])
    prop = json.loads(capsys.readouterr().out)["properties"][0]
    assert code == 1 and prop["status"] == "error"
    fault = prop["fault"]
    assert (fault["call"], fault["exc_type"]) == ("backward", "AssertionError")
    assert fault["message"] == "dout has the wrong shape"
    assert fault["line"] == line_of(f"{path}:x", "assert dout.shape")
    assert fault["source"].startswith("assert dout.shape")


def test_a_clone_in_a_folder_named_gradcheck_is_still_the_users_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Frames are told apart by the harness package's own directory, never by a folder name.
    target = linear_file(tmp_path, forward="undefined_helper(x)", folder="gradcheck/assignment")
    code = main(["check", "linear", target, *FAST, "--property", "forward", "--format", "json"])
    fault = json.loads(capsys.readouterr().out)["properties"][0]["fault"]
    assert code == 1
    assert fault["file"] == target.rpartition(":")[0] and fault["source"] == "undefined_helper(x)"


def test_a_wrong_shaped_dx_is_the_layers_error_not_a_crash_of_a_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = linear_file(tmp_path, dx='(dout @ self.params["weight"]).sum(0)')
    # The properties that used to crash on it (concatenating rows, comparing a probe's gradients) and the two that
    # check the input gradient.
    props = ["interface", "input_gradient", "batch_semantics", "state"]
    code = main(["check", "linear", target, *FAST, *(a for p in props for a in ("--property", p)), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    text = json.dumps(report)
    assert "returned a gradient for x of shape" in text
    for bad in ("internal error", "cannot be concatenated", "0 / 0"):
        assert bad not in text
    assert not any(p["status"] == "pass" for p in report["properties"] if p["name"] == "input_gradient")


# --- constructors as the contract calls them ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_in", "n_out", "signature"),
    [("n_in", "n_out", "n_in, n_out"), ("in_features", "out_features", "out_features, in_features")],
    ids=["renamed-positional", "same-names-other-order"],
)
def test_constructor_with_other_parameter_names_or_order_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], n_in: str, n_out: str, signature: str
) -> None:
    # LinearModule(n_in, n_out) is called positionally, as the course's code calls it; a constructor that names
    # the contract's arguments in another order is called by keyword.
    target = linear_file(tmp_path, n_in=n_in, n_out=n_out, signature=signature)
    code = main(["check", "linear", target, *FAST, *SOME])
    out = capsys.readouterr().out
    assert code == 0, out


def test_a_class_that_does_not_fit_the_kind_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "modules.py"
    path.write_text(RELU)
    assert main(["check", "linear", f"{path}:ReLUModule"]) == 2
    line = one_line_usage_error(capsys)
    assert line == (
        "gradcheck: error: ReLUModule does not fit kind 'linear': its constructor takes no arguments, "
        "the contract passes (in_features, out_features)"
    )


@pytest.mark.parametrize(
    ("kind", "target", "reason"),
    [
        ("cross_entropy", "layers:SoftMaxModule", "the kind expects a NumPy loss module"),
        ("linear", "layers:LinearFunction", "LinearFunction is a torch.autograd.Function"),
        ("batchnorm_function", "layers:BatchNormModule", "expects a torch.autograd.Function subclass"),
        ("conv2d_function", "layers:LinearFunction", "the contract calls apply with 5 arguments"),
    ],
)
def test_other_protocols_do_not_fit(capsys: pytest.CaptureFixture[str], kind: str, target: str, reason: str) -> None:
    assert main(["check", kind, target]) == 2
    assert reason in one_line_usage_error(capsys)


def test_device_cuda_for_a_numpy_kind_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "relu", "layers:ReLUModule", "--device", "cuda"]) == 2
    assert one_line_usage_error(capsys).endswith("NumPy layers run on the CPU; --device cuda applies to torch kinds")


def test_device_cuda_without_a_gpu_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["check", "linear_function", "layers:LinearFunction", "--device", "cuda"]) == 2
    assert one_line_usage_error(capsys).endswith("CUDA is not available (torch.cuda.is_available() is False)")


# --- imports, Ctrl-C, usage errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.exit(0)\n", "it called exit(0) while being imported"),
        ("raise SystemExit('bye')\n", "it called exit('bye') while being imported"),
        ("class Odd(BaseException):\n    pass\n\nraise Odd('strange')\n", "Odd: strange"),
        ("x = undefined_name\n", "NameError: name 'undefined_name' is not defined"),
    ],
    ids=["exit0", "SystemExit-str", "BaseException", "NameError"],
)
def test_anything_raised_while_importing_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, reason: str
) -> None:
    path = tmp_path / "student.py"
    path.write_text(source)
    assert main(["check", "relu", f"{path}:ReLUModule"]) == 2
    line = one_line_usage_error(capsys)
    assert f"cannot import {path}" in line and reason in line


def test_ctrl_c_exits_130_with_the_properties_finished_so_far(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # KeyboardInterrupt is the one exception the harness lets through: it stops the run, the report so far is kept.
    target = linear_file(tmp_path, backward="raise KeyboardInterrupt")
    props = ["--property", "forward", "--property", "input_gradient", "--property", "purity"]
    code = main(["check", "linear", target, *FAST, *props, "--format", "json"])
    captured = capsys.readouterr()
    assert code == INTERRUPTED == 130
    report = json.loads(captured.out)
    assert report["interrupted"] is True and report["passed"] is False
    assert [(p["name"], p["status"]) for p in report["properties"]] == [("forward", "pass")]
    assert "interrupted" in captured.err


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ([], "the following arguments are required: command"),
        (["check", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["check", "relu", "layers:ReLUModule", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["check", "relu", "layers:ReLUModule", "--seed", "x"], "invalid int value: 'x'"),
        (["check", "--all", "relu"], "--all takes no KIND or TARGET"),
        (["check", "relu"], "check needs KIND and TARGET"),
        (["check", "relu", "layers:ReLUModule", "--property", "nope"], "unknown properties ['nope']"),
    ],
)
def test_usage_errors_of_every_kind_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    assert main(argv) == 2
    assert reason in one_line_usage_error(capsys)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--help"]) == 0
    assert "--strict" in capsys.readouterr().out


FUNCTION = """
import sys

import torch


class LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, dout):
        x, weight = ctx.saved_tensors
        {statement}
        return dout @ weight, dout.T @ x, dout.sum(0)
"""


@pytest.mark.parametrize("statement", ["sys.exit(0)", "raise SystemExit(3)", "scale = undefined_scale"])
def test_exit_or_an_error_in_a_functions_backward_run_by_autograd_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], statement: str
) -> None:
    # torch's C++ engine calls the backward: the exception comes back through torch.autograd.grad, and the
    # traceback still reaches the student's line.
    path = tmp_path / "functions.py"
    path.write_text(textwrap.dedent(FUNCTION.format(statement=statement)))
    target = f"{path}:LinearFunction"
    code = main(["check", "linear_function", target, *FAST, "--property", "interface", "--format", "json"])
    prop = json.loads(capsys.readouterr().out)["properties"][0]
    assert code == 1 and prop["status"] == "error", prop
    fault = prop["fault"]
    assert (fault["call"], fault["file"], fault["source"]) == ("backward", str(path), statement)
    assert fault["line"] == line_of(target, statement)


def test_one_progress_bar_for_the_whole_run_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    args = ["--max-examples", "2", "--property", "forward", "--property", "purity"]
    assert main(["check", "relu", "layers:ReLUModule", *args]) == 0
    from gradcheck.checklist.runner import planned_cases

    total = planned_cases("relu", max_examples=2, properties=["forward", "purity"])
    counts = re.findall(r"(\d+)/(\d+) \[", err.getvalue())
    assert counts and {t for _, t in counts} == {str(total)}, err.getvalue()  # one bar: every case of the run
    assert int(counts[-1][0]) <= total
    assert "passed" in capsys.readouterr().out


PROMOTES = """
import numpy as np


class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * np.where(self.x > 0, 1.0, 0.0)  # float64 constants: a float32 dout comes back float64
"""


def test_a_warning_exits_0_and_fails_under_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "modules.py"
    path.write_text(PROMOTES)
    args = ["check", "relu", f"{path}:ReLUModule", *FAST, "--property", "interface", "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["verdict"], report["passed"]) == ("warn", True)
    assert main([*args, "--strict"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["verdict"], report["passed"], report["strict"]) == ("warn", False, True)


class _Star:
    def __init__(self, *args):
        self.args = args


class _Keywords:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class _KeywordOnly:
    def __init__(self, *, out_features, in_features):
        pass


class _NeedsMore:
    def __init__(self, in_features, out_features, activation):
        pass


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (_Star, ((3, 2), {})),
        (_Keywords, ((), {"in_features": 3, "out_features": 2})),
        (_KeywordOnly, ((), {"in_features": 3, "out_features": 2})),
    ],
)
def test_how_the_contract_calls_a_constructor(cls: type, expected: tuple) -> None:
    from gradcheck.checklist.fit import constructor_call
    from gradcheck.kinds import get_kind

    # The drawn order of the arguments does not matter: the kind's declared order does.
    assert constructor_call(get_kind("linear"), cls, {"out_features": 2, "in_features": 3}) == expected


def test_a_constructor_that_needs_more_than_the_contract_gives_does_not_fit() -> None:
    from gradcheck.checklist.fit import constructor_call
    from gradcheck.errors import InvalidTarget
    from gradcheck.kinds import get_kind

    with pytest.raises(InvalidTarget, match=r"_NeedsMore does not fit kind 'linear': its constructor takes \("):
        constructor_call(get_kind("linear"), _NeedsMore, {"in_features": 3, "out_features": 2})


class _ImageLayer:
    """Takes the linear contract's arguments, but is a layer of images (a 4-d output): another kind of layer."""

    def __init__(self, in_features, out_features):
        self.params, self.grads = {}, {}

    def forward(self, x):
        return x.reshape(x.shape[0], 1, 1, -1)

    def backward(self, dout):
        return dout.reshape(dout.shape[0], -1)


def test_a_forward_of_another_rank_does_not_fit_but_a_wrong_shape_of_the_right_rank_does() -> None:
    from gradcheck.checklist.fit import check_fits
    from gradcheck.errors import InvalidTarget
    from gradcheck.kinds import get_kind

    with pytest.raises(InvalidTarget, match=r"_ImageLayer does not fit kind 'linear': .* 4-d output, the kind's is 2"):
        check_fits(get_kind("linear"), _ImageLayer)
    check_fits(get_kind("relu"), _Transposes)  # a wrong relu, not a misfit: the properties fail it


class _Transposes:
    """A wrong ReLU of the right kind: its output has the right rank but another shape (the interface fails it)."""

    def forward(self, x):
        return x.T

    def backward(self, dout):
        return dout.T
