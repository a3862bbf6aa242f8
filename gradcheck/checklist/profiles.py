"""Hypothesis profiles for the checklist: how many cases each property gets."""

from __future__ import annotations

import os

from gradcheck.errors import InvalidArgument

__all__ = ["PROFILES", "default_profile", "examples_for"]

#: Examples per property of unit cost (expensive properties get ``n // cost``, at least 2).
PROFILES: dict[str, int] = {"dev": 10, "ci": 24, "thorough": 200}


def default_profile() -> str:
    """``ci`` when the environment variable CI is set (to anything, as Hypothesis reads it), else ``dev``."""
    return "ci" if "CI" in os.environ else "dev"


def examples_for(profile: str, cost: int, max_examples: int | None = None) -> int:
    """Number of Hypothesis examples for a property of ``cost`` under ``profile`` (or ``max_examples``)."""
    if profile not in PROFILES:
        raise InvalidArgument(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    n = max_examples if max_examples is not None else PROFILES[profile]
    if n < 1:
        raise InvalidArgument(f"max_examples must be at least 1, got {n}")
    return max(min(n, 2), n // cost)
