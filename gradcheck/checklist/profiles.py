"""The checklist's profiles as Hypothesis settings profiles: how many cases each property gets, and how they run.

``gradcheck-dev``, ``gradcheck-ci`` and ``gradcheck-thorough`` are registered with Hypothesis on import; the
checklist runs each property under ``settings(profile_settings(profile), max_examples=n)``. The names are
prefixed so that they never replace a project's own ``dev``/``ci`` profiles (the pytest plugin registers those
for the project's own Hypothesis tests, with the same example counts).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

from gradcheck.errors import InvalidArgument

__all__ = ["PROFILES", "default_profile", "examples_for", "profile_name", "profile_settings"]

#: Examples per property of unit cost (expensive properties get ``n // cost``, at least 2).
PROFILES: dict[str, int] = {"dev": 10, "ci": 24, "thorough": 200}


def profile_name(profile: str) -> str:
    """The Hypothesis settings profile of a checklist profile (``dev`` → ``gradcheck-dev``)."""
    return f"gradcheck-{profile}"


for _name, _n in PROFILES.items():
    settings.register_profile(
        profile_name(_name),
        max_examples=_n,
        deadline=None,  # numeric cases vary widely in cost; a deadline would only make verdicts flaky
        database=None,  # a run is reproduced by its seed, not by a database on someone's disk
        derandomize=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),  # filtering and slow data generation are by design here
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )


def default_profile() -> str:
    """``ci`` when the environment variable CI is set (to anything, as Hypothesis reads it), else ``dev``."""
    return "ci" if "CI" in os.environ else "dev"


def profile_settings(profile: str) -> settings:
    """The Hypothesis settings of ``profile``.

    Raises:
        InvalidArgument: an unknown profile (the message lists the known ones).
    """
    if profile not in PROFILES:
        raise InvalidArgument(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return settings.get_profile(profile_name(profile))


def examples_for(profile: str, cost: int, max_examples: int | None = None) -> int:
    """Number of Hypothesis examples for a property of ``cost`` under ``profile`` (or ``max_examples``)."""
    base = profile_settings(profile).max_examples  # validates the profile even when max_examples is given
    n = base if max_examples is None else max_examples
    if n < 1:
        raise InvalidArgument(f"max_examples must be at least 1, got {n}")
    return max(min(n, 2), n // cost)
