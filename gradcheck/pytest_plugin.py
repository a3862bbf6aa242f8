"""The gradcheck pytest plugin (entry point ``pytest11``): options, markers, fixtures and Hypothesis profiles.

It is loaded in every pytest run once gradcheck is installed, so importing it is light: torch and Hypothesis
are imported inside the hooks and fixtures that need them, never here.

* ``--gradcheck-profile dev|ci|thorough`` (default ``ci`` when the environment variable ``CI`` is set, else
  ``dev``): the number of Hypothesis cases per property of the checklist, and the Hypothesis profile loaded for
  the run (registered here with ``deadline=None``), unless ``--hypothesis-profile`` or a conftest chose one.
* ``--gradcheck-seed N`` (default 0) and ``--gradcheck-max-examples N``: the checklist's seed and case count.
* ``--gradcheck-strict``: a property that warns (the gradients are right, something else deserves attention)
  fails its test; without it the test passes and the finding is a :class:`~gradcheck.errors.GradcheckWarning`.
* markers ``gradcheck`` (every test made by :func:`gradcheck.testing.checklist`; select with ``-m gradcheck``) and
  ``cuda`` (skipped, with the reason, when no CUDA device is available);
* fixtures, all prefixed so that installing gradcheck adds no name to a project that does not ask for them:
  ``gradcheck_device`` (``cpu``, ``cuda``), ``gradcheck_dtype`` (``float64``, ``float32``) and
  ``gradcheck_options``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

__all__ = ["GradcheckOptions", "options"]

#: The profiles, in the order of :data:`gradcheck.checklist.profiles.PROFILES` (a test checks they agree).
PROFILE_NAMES = ("dev", "ci", "thorough")


@dataclass(frozen=True)
class GradcheckOptions:
    """What the command line chose for the checklist: profile, seed, an optional case count, and strictness."""

    profile: str
    seed: int = 0
    max_examples: int | None = None
    strict: bool = False


_OPTIONS = pytest.StashKey[GradcheckOptions]()
_PREVIOUS_PROFILE = pytest.StashKey[str]()


def options(config: pytest.Config) -> GradcheckOptions:
    """The run's :class:`GradcheckOptions` (the defaults when the plugin was disabled with ``-p no:gradcheck``)."""
    return config.stash.get(_OPTIONS, GradcheckOptions(_default_profile()))


def _default_profile() -> str:
    # Kept in step with gradcheck.checklist.profiles.default_profile without importing it here.
    return "ci" if "CI" in os.environ else "dev"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradient checks (gradcheck)")
    group.addoption(
        "--gradcheck-profile",
        choices=PROFILE_NAMES,
        default=None,
        help="cases per property and Hypothesis profile (default: ci when CI is set, else dev)",
    )
    group.addoption("--gradcheck-seed", type=int, default=0, help="seed of the gradcheck checklist (default 0)")
    group.addoption(
        "--gradcheck-max-examples", type=int, default=None, help="cases per checklist property (overrides the profile)"
    )
    group.addoption(
        "--gradcheck-strict",
        action="store_true",
        default=False,
        help="a checklist property that warns fails its test (default: it passes with a GradcheckWarning)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gradcheck(kind, property): a property of the gradcheck checklist (made by gradcheck.testing.checklist)",
    )
    config.addinivalue_line("markers", "cuda: needs a CUDA device; skipped with the reason when none is available")
    profile = config.getoption("gradcheck_profile", None) or _default_profile()
    max_examples = config.getoption("gradcheck_max_examples", None)
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError(f"--gradcheck-max-examples must be at least 1, got {max_examples}")
    seed = config.getoption("gradcheck_seed", 0) or 0
    strict = bool(config.getoption("gradcheck_strict", False))
    config.stash[_OPTIONS] = GradcheckOptions(profile, seed, max_examples, strict)
    _load_hypothesis_profile(config, profile)


def pytest_unconfigure(config: pytest.Config) -> None:
    previous = config.stash.get(_PREVIOUS_PROFILE, None)
    if previous is not None:  # an in-process run (pytester) leaves Hypothesis as it found it
        from hypothesis import settings

        settings.load_profile(previous)


def _load_hypothesis_profile(config: pytest.Config, profile: str) -> None:
    import importlib

    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    from gradcheck.checklist.profiles import profile_settings

    # Hypothesis registers a "ci" profile of its own (and loads it when CI is set): ours extends it. A profile
    # registered or loaded by the project (its conftest runs before this hook) is left alone.
    builtin_ci = getattr(importlib.import_module("hypothesis._settings"), "CI", None)
    ours = []
    for name in PROFILE_NAMES:
        try:
            existing = settings.get_profile(name)
        except InvalidArgument:
            existing = None
        if existing is None or existing is builtin_ci:
            settings.register_profile(name, existing, max_examples=profile_settings(name).max_examples, deadline=None)
            ours.append(name)
    current = settings.get_current_profile_name()
    if config.getoption("hypothesis_profile", None) or current not in ("default", *ours):
        return
    config.stash[_PREVIOUS_PROFILE] = current
    settings.load_profile(profile)


def pytest_report_header(config: pytest.Config) -> str:
    o = options(config)
    cases = f"{o.max_examples} cases per property" if o.max_examples else f"profile {o.profile}"
    return f"gradcheck: {cases}, seed {o.seed}" + (", strict (warnings fail)" if o.strict else "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cuda = [item for item in items if item.get_closest_marker("cuda") is not None]
    reason = _no_cuda() if cuda else ""  # torch is imported only when some test needs CUDA
    for item in cuda if reason else ():
        item.add_marker(pytest.mark.skip(reason=reason))


def _no_cuda() -> str:
    """Why CUDA cannot be used here, or ``""`` when it can."""
    try:
        import torch
    except ImportError:
        return "CUDA test: torch is not installed"
    if not torch.cuda.is_available():
        return "CUDA test: no CUDA device available (torch.cuda.is_available() is False)"
    return ""


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def gradcheck_device(request: pytest.FixtureRequest) -> str:
    """``"cpu"`` and ``"cuda"``; the CUDA case is skipped, with the reason, when no GPU is available."""
    return str(request.param)


@pytest.fixture(params=["float64", "float32"])
def gradcheck_dtype(request: pytest.FixtureRequest) -> str:
    """``"float64"`` and ``"float32"`` (NumPy dtype names; ``getattr(torch, dtype)`` for torch)."""
    return str(request.param)


@pytest.fixture(scope="session")
def gradcheck_options(pytestconfig: pytest.Config) -> GradcheckOptions:
    """The checklist's profile, seed, case count and strictness chosen on the command line."""
    return options(pytestconfig)
