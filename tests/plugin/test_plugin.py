"""The plugin itself: light import, options, Hypothesis profiles, markers and fixtures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gradcheck.checklist.profiles import PROFILES
from gradcheck.pytest_plugin import PROFILE_NAMES

pytest_plugins = ["pytester"]

SHOW_PROFILE = """
from hypothesis import settings

def test_profile(gradcheck_options):
    s = settings.default
    print("PROFILE", settings.get_current_profile_name(), s.max_examples, s.deadline, gradcheck_options.profile)
"""


def test_importing_the_plugin_imports_neither_torch_nor_hypothesis() -> None:
    code = "import sys, gradcheck.pytest_plugin; print(sorted({'torch', 'hypothesis'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_profile_names_agree_with_the_checklist() -> None:
    assert tuple(PROFILES) == PROFILE_NAMES


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, (), f"PROFILE dev {PROFILES['dev']} None dev"),
        ({"CI": "true"}, (), f"PROFILE ci {PROFILES['ci']} None ci"),
        ({"CI": "true"}, ("--gradcheck-profile", "thorough"), f"PROFILE thorough {PROFILES['thorough']} None thorough"),
        # --hypothesis-profile decides Hypothesis's profile; the checklist keeps its own.
        ({}, ("--hypothesis-profile", "ci"), f"PROFILE ci {PROFILES['ci']} None dev"),
    ],
    ids=["dev", "ci-from-env", "thorough-option", "hypothesis-profile-option"],
)
def test_profile_selection(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    pytester.makepyfile(test_p=SHOW_PROFILE)
    # A subprocess: Hypothesis's current profile is global state of the process.
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*{expected}"])


def test_a_profile_the_project_loads_itself_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from hypothesis import settings\n"
        "settings.register_profile('mine', max_examples=3)\n"
        "settings.register_profile('ci', max_examples=7)\n"
        "settings.load_profile('mine')\n"
    )
    pytester.makepyfile(test_p=SHOW_PROFILE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--gradcheck-profile", "ci")
    result.stdout.fnmatch_lines(["*PROFILE mine 3 * ci"])


def test_inline_runs_restore_the_hypothesis_profile(pytester: pytest.Pytester) -> None:
    from hypothesis import settings

    before = settings.get_current_profile_name()
    pytester.makepyfile(test_p=SHOW_PROFILE)
    pytester.runpytest("-s", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert settings.get_current_profile_name() == before


def test_report_header_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_o="""
        def test_o(gradcheck_options):
            assert (gradcheck_options.seed, gradcheck_options.max_examples) == (7, 3)
        """
    )
    result = pytester.runpytest("--gradcheck-seed", "7", "--gradcheck-max-examples", "3", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["gradcheck: 3 cases per property, seed 7"])


def test_bad_max_examples_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--gradcheck-max-examples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gradcheck-max-examples must be at least 1, got 0*"])


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gradcheck(kind, property):*", "@pytest.mark.cuda:*"])


def test_namespaced_device_and_dtype_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_f="""
        import numpy as np
        import pytest

        def test_cast(gradcheck_dtype):
            assert np.ones(2).astype(gradcheck_dtype).dtype == np.dtype(gradcheck_dtype)

        def test_on(gradcheck_device):
            import torch
            assert torch.ones(1, device=gradcheck_device).device.type == gradcheck_device

        @pytest.mark.cuda
        def test_needs_gpu():
            import torch
            assert torch.cuda.is_available()
        """
    )
    result = pytester.runpytest("-v", "-rs", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*test_cast[[]float64[]] PASSED*", "*test_cast[[]float32[]] PASSED*", "*test_on[[]cpu[]] PASSED*"]
    )
    import torch

    if torch.cuda.is_available():
        result.assert_outcomes(passed=5)
    else:
        result.assert_outcomes(passed=3, skipped=2)
        result.stdout.fnmatch_lines(
            ["SKIPPED [[]1[]] test_f.py:*: CUDA test: no CUDA device available (torch.cuda.is_available() is False)"]
        )


def test_installing_gradcheck_adds_no_fixture_a_project_could_collide_with(pytester: pytest.Pytester) -> None:
    # A project with its own meaning for "device" and "dtype" (or none at all) sees no fixture of ours by those names.
    pytester.makepyfile(test_f="def test_uses_device(device):\n    pass\n\ndef test_uses_dtype(dtype):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*fixture 'device' not found*", "*fixture 'dtype' not found*"])
    fixtures = pytester.runpytest("--fixtures", "-p", "no:cacheprovider").stdout.str()
    section = fixtures.split("fixtures defined from gradcheck.pytest_plugin")[1].split("\n---")[0]
    ours = {line.split()[0] for line in section.splitlines() if " -- " in line}
    assert ours == {"gradcheck_device", "gradcheck_dtype", "gradcheck_options"}, ours


def test_strict_option_reaches_the_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_o="def test_o(gradcheck_options):\n    assert gradcheck_options.strict\n")
    result = pytester.runpytest("--gradcheck-strict", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["gradcheck: profile *, seed 0, strict (warnings fail)"])


@pytest.mark.parametrize("env", [None, "", "true"])
def test_the_plugin_and_the_runner_choose_the_same_default_profile(monkeypatch: pytest.MonkeyPatch, env: str | None):
    from gradcheck.checklist.profiles import default_profile
    from gradcheck.pytest_plugin import _default_profile

    monkeypatch.delenv("CI", raising=False)
    if env is not None:
        monkeypatch.setenv("CI", env)
    assert _default_profile() == default_profile() == ("dev" if env is None else "ci")
