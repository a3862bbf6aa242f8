"""Fixtures of the plugin tests, and a guard for pytester's inline runs.

``pytester`` runs pytest in this process and afterwards drops the modules imported during the run; torch and
the harness's registries are imported here first, so that they are never imported twice.
"""

from __future__ import annotations

import pytest
import torch  # noqa: F401  (imported before any inline run; see the module docstring)
from user_layers import BROKEN

from gradcheck.kinds import get_kind
from gradcheck.properties import load

get_kind("relu")
load()


@pytest.fixture
def user_files(pytester: pytest.Pytester) -> pytest.Pytester:
    """``my_layers.py`` (``LinearModule``, ``BrokenLinear``) in the pytester directory."""
    pytester.makepyfile(my_layers=BROKEN)
    return pytester
