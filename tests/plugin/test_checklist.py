"""``gradcheck.testing.checklist`` as a user meets it: one pytest test per property, failures in the template."""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from user_layers import BROKEN, FEW

import gradcheck
from gradcheck.cli import main as gradcheck_main
from gradcheck.properties import load

# Enabled in the test modules: pytest refuses pytest_plugins in a nested conftest.
pytest_plugins = ["pytester"]

CHEAP = ("--gradcheck-max-examples", "2", "-p", "no:cacheprovider")


PACKAGE = Path(gradcheck.__file__).resolve().parent


def _harness_frames(text: str, root: Path) -> list[str]:
    """``file.py:line`` references in ``text`` that point into the harness package's own files.

    Decided by where the file is, not by its name: the clone's folder may itself be called ``gradcheck``.
    """
    found = []
    for ref in re.findall(r"([^\s:'\"()]+\.py):\d+", text):
        path = Path(ref) if Path(ref).is_absolute() else root / ref
        if path.resolve().is_relative_to(PACKAGE):
            found.append(ref)
    return found


def test_the_harness_frame_finder_goes_by_location_not_by_name(tmp_path: Path) -> None:
    clone = tmp_path / "gradcheck" / "layers" / "linear.py"  # a user's file in a folder named like the package
    inside = PACKAGE / "testing.py"
    assert _harness_frames(f"  at {clone}:3\n  {inside}:12\n", tmp_path) == [str(inside)]
    assert _harness_frames("  ../../gradcheck/testing.py:9\n", PACKAGE / "checklist") == ["../../gradcheck/testing.py"]


def test_one_test_per_property_named_by_the_property(user_files: pytest.Pytester) -> None:
    user_files.makepyfile(
        test_mine="""
        import gradcheck.testing
        from my_layers import LinearModule

        test_linear = gradcheck.testing.checklist("linear", LinearModule)
        """
    )
    result = user_files.runpytest("-v", "-rs", *CHEAP)
    names = list(load())
    # Stated, not derived from the registry's own ``applies``: a NumPy layer that is not a network.
    skipped = {"module_contract", "double_backward", "device_parity", "trainability"}
    for name in names:
        status = "SKIPPED" if name in skipped else "PASSED"
        result.stdout.re_match_lines([rf".*test_mine.py::test_linear\[{name}\] {status}.*"], consecutive=False)
    result.assert_outcomes(passed=len(names) - len(skipped), skipped=len(skipped))
    # A skip says why, at the line of the user's checklist call.
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_mine.py:4: module_contract: only for torch.nn.Module kinds"])


def test_failure_shows_template_example_and_reproduction_without_harness_frames(
    user_files: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user_files.makepyfile(
        test_mine="""
        import gradcheck.testing
        from my_layers import BrokenLinear

        test_broken = gradcheck.testing.checklist("linear", BrokenLinear, properties=["forward", "param_gradients"])
        """
    )
    result = user_files.runpytest("-ra", *CHEAP)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*_ test_broken[[]param_gradients[]] _*",
            "E   gradcheck.errors.GradientMismatch: linear · my_layers:BrokenLinear: property param_gradients "
            "FAILED (seed 0, profile *",
            "    --- param_gradients: FAIL (parameter gradients vs finite differences)",
            "    Gradient mismatch: linear → param_gradients → BrokenLinear → bias[[]*[]]",
            "*mismatched*",
            "*greatest absolute difference*",
            "    minimal example: linear(in_features=*, out_features=*), x (*), regime *",
            "    reproduce: gradcheck check linear my_layers:BrokenLinear --seed 0 --profile * "
            "--property param_gradients --max-examples 2",
            "           or: pytest 'test_mine.py::test_broken[[]param_gradients[]]' --gradcheck-seed 0 *",
            "All traceback entries are hidden.*",
            "FAILED test_mine.py::test_broken[[]param_gradients[]] - gradcheck.errors.Gradient*",
        ]
    )
    assert _harness_frames(out, user_files.path) == []
    # The printed command reproduces the failure outside pytest.
    monkeypatch.chdir(user_files.path)
    monkeypatch.syspath_prepend(str(user_files.path))
    assert (
        gradcheck_main(
            [
                "check",
                "linear",
                "my_layers:BrokenLinear",
                "--seed",
                "0",
                "--max-examples",
                "2",
                "--property",
                "param_gradients",
            ]
        )
        == 1
    )
    assert "--- param_gradients: FAIL" in capsys.readouterr().out


def test_a_class_in_the_test_file_is_reproduced_by_its_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_here=BROKEN + "\nimport gradcheck.testing\n"
        'test_broken = gradcheck.testing.checklist("linear", BrokenLinear, '
        'properties=["param_gradients"])\n'
    )
    result = pytester.runpytest(*CHEAP)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*reproduce: gradcheck check linear test_here.py:BrokenLinear --seed 0 *"])


NEW_KIND = """
import numpy as np
from hypothesis import strategies as st

import gradcheck.testing
from gradcheck.kinds import Kind


def _shapes(ctor):
    return st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda s: {"x": s})


SQUARE = Kind(
    name="square",
    summary="y = x²; dy/dx = 2x",
    protocol="numpy",
    builtin=(),
    ctor=lambda: st.just({}),
    shapes=_shapes,
    params=lambda ctor: {},
    reference=lambda ctor, inputs, params: inputs["x"] ** 2,
)


class Square:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        return FACTOR * self.x * dout


test_square = gradcheck.testing.checklist(SQUARE, Square, properties=["forward", "input_gradient", "purity"])
"""


def test_a_new_kind_declared_in_the_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_square=NEW_KIND.replace("FACTOR", "2"))
    result = pytester.runpytest("-v", *CHEAP)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_square[[]input_gradient[]] PASSED*"])


def test_a_new_kind_failure_is_reproduced_through_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_square=NEW_KIND.replace("FACTOR", "1"))
    result = pytester.runpytest(*CHEAP)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   gradcheck.errors.GradientMismatch: square · test_square.py:Square: property input_gradient FAILED*",
            "*diagnosis: the analytic gradient is the numeric one times 1/2*",
            "    reproduce: pytest 'test_square.py::test_square[[]input_gradient[]]' --gradcheck-seed 0 *",
        ]
    )
    assert "gradcheck check square" not in result.stdout.str()  # the CLI does not know a kind of a test file
    assert _harness_frames(result.stdout.str(), pytester.path) == []


def test_junitxml_names_each_property(user_files: pytest.Pytester) -> None:
    user_files.makepyfile(
        test_mine=f"""
        import gradcheck.testing
        from my_layers import BrokenLinear

        test_broken = gradcheck.testing.checklist("linear", BrokenLinear, properties={FEW!r})
        """
    )
    xml = user_files.path / "report.xml"
    user_files.runpytest(f"--junitxml={xml}", *CHEAP)
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    assert set(cases) == {f"test_broken[{n}]" for n in FEW}
    failure = cases["test_broken[param_gradients]"].find("failure")
    assert failure is not None and "property param_gradients FAILED" in failure.get("message", "")
    skipped = cases["test_broken[module_contract]"].find("skipped")
    assert skipped is not None and skipped.get("message") == "module_contract: only for torch.nn.Module kinds"
    assert cases["test_broken[input_gradient]"].find("failure") is None


def test_runs_under_xdist(user_files: pytest.Pytester) -> None:
    user_files.makepyfile(
        test_mine="""
        import gradcheck.testing
        from my_layers import BrokenLinear, LinearModule

        test_linear = gradcheck.testing.checklist("linear", LinearModule, properties=["forward", "input_gradient"])
        test_broken = gradcheck.testing.checklist("linear", BrokenLinear, properties=["param_gradients"])
        """
    )
    result = user_files.runpytest_subprocess("-n", "2", *CHEAP)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*property param_gradients FAILED*", "*minimal example: linear(*"])


def test_torch_function_and_module_with_cuda_skipped_with_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_torch="""
        import gradcheck.testing
        import layers

        test_bn = gradcheck.testing.checklist(
            "batchnorm_function", layers.CustomBatchNormManualFunction,
            properties=["forward", "input_gradient"], devices=("cpu", "cuda"),
        )
        test_ln = gradcheck.testing.checklist("layernorm_module", "layers:CustomLayerNormManualModule",
                                              properties=["module_contract", "param_gradients"])
        """
    )
    result = pytester.runpytest("-v", "-rs", *CHEAP)
    result.stdout.fnmatch_lines(["*test_bn[[]input_gradient-cpu[]] PASSED*", "*test_ln[[]module_contract[]] PASSED*"])
    import torch

    if torch.cuda.is_available():
        result.assert_outcomes(passed=6)
    else:
        result.assert_outcomes(passed=4, skipped=2)
        result.stdout.fnmatch_lines(["SKIPPED [[]2[]] test_torch.py:4: CUDA test: no CUDA device available*"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('"linaer", object', "unknown kind 'linaer'; known kinds: "),
        ('"linear", object, properties=["gradients"]', "properties=['gradients']: unknown ['gradients']; pass names"),
        ('"linear", object, devices=("gpu",)', "devices=('gpu',): expected a non-empty subset of ('cpu', 'cuda')"),
        ('"relu", object, devices=("cuda",)', "devices=('cuda',): kind 'relu' is a NumPy kind, which runs on the CPU"),
    ],
)
def test_misuse_is_a_collection_error_naming_the_fix(pytester: pytest.Pytester, call: str, message: str) -> None:
    pytester.makepyfile(test_bad=f"import gradcheck.testing\ntest_x = gradcheck.testing.checklist({call})\n")
    result = pytester.runpytest(*CHEAP)
    result.assert_outcomes(errors=1)
    assert f"E   gradcheck.errors.InvalidArgument: {message}" in result.stdout.str()
    assert _harness_frames(result.stdout.str(), pytester.path) == []  # the traceback ends at the user's line


def test_marker_selects_the_generated_tests(user_files: pytest.Pytester) -> None:
    user_files.makepyfile(
        test_mine=textwrap.dedent(
            """
            import gradcheck.testing
            from my_layers import LinearModule

            test_linear = gradcheck.testing.checklist("linear", LinearModule, properties=["forward"])

            def test_other():
                pass
            """
        )
    )
    result = user_files.runpytest("-m", "gradcheck", "--strict-markers", *CHEAP)
    result.assert_outcomes(passed=1, deselected=1)


WARNING_PROPERTY = """
import gradcheck.testing
from gradcheck.properties.registry import Outcome, prop
from gradcheck.results import Finding
from my_layers import LinearModule


@prop("promotes", title="dtype promotion", verifies="-", guards="-", failure_means="-")
def promotes(trial):
    return Outcome.from_records(findings=(Finding("dtype", "warn", "float64 output for float32 inputs"),))


test_linear = gradcheck.testing.checklist("linear", LinearModule, properties=["forward", "promotes"])
test_strict = gradcheck.testing.checklist("linear", LinearModule, properties=["promotes"], strict=True)
"""


def test_a_warning_passes_with_a_pytest_warning_unless_strict(user_files: pytest.Pytester) -> None:
    # A subprocess: the file registers a property, which must not leak into this process's registry.
    user_files.makepyfile(test_warn=WARNING_PROPERTY)
    result = user_files.runpytest_subprocess(*CHEAP)
    result.assert_outcomes(passed=2, failed=1, warnings=1)  # test_strict fails: strict=True in the call
    result.stdout.fnmatch_lines(
        [
            "*test_warn.py:*: GradcheckWarning: linear · my_layers:LinearModule: property promotes WARNING*",
            "*warning: dtype: float64 output for float32 inputs*",
        ]
    )
    strict = user_files.runpytest_subprocess("--gradcheck-strict", *CHEAP)
    strict.assert_outcomes(passed=1, failed=2)
    strict.stdout.fnmatch_lines(["*property promotes WARNING * (strict: warnings fail)*"])
    assert _harness_frames(strict.stdout.str(), user_files.path) == []


def test_pytest_warning_filters_apply(user_files: pytest.Pytester) -> None:
    user_files.makepyfile(test_warn=WARNING_PROPERTY)
    result = user_files.runpytest_subprocess("-W", "error::gradcheck.GradcheckWarning", *CHEAP)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*GradcheckWarning: linear · my_layers:LinearModule: property promotes WARNING*"])
