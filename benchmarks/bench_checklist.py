"""The checklist's own speed: one kind's whole checklist (``ci`` profile) and ``gradcheck check --all``.

Issue budget: one kind in at most 10 s median on a 2-core machine, ``check --all`` in at most 3 minutes. One
round per kind in ``--bench-quick`` runs, three otherwise; ``check --all`` once.
"""

from __future__ import annotations

from typing import Any

import pytest

from gradcheck.checklist.runner import check_kind
from gradcheck.kinds import KINDS, get_kind
from gradcheck.loading import load_target

get_kind("relu")  # loads the built-in declarations
TARGETS = [(k.name, t) for k in KINDS.values() for t in k.builtin]


def _rounds(request: pytest.FixtureRequest) -> int:
    return 1 if request.config.getoption("--bench-quick") else 3


@pytest.mark.parametrize(("kind", "target"), TARGETS, ids=[f"{k}-{t.split(':')[1]}" for k, t in TARGETS])
def test_checklist_of_one_kind(benchmark: Any, request: pytest.FixtureRequest, kind: str, target: str) -> None:
    cls = load_target(target).obj
    benchmark.group = "checklist"
    benchmark.extra_info.update(kind="checklist", layer=kind, target=target, profile="ci", budget_s=10.0)
    report = benchmark.pedantic(
        lambda: check_kind(kind, cls, profile="ci", label=target), rounds=_rounds(request), iterations=1
    )
    assert report.passed, f"{target} failed its own checklist"


def test_check_all(benchmark: Any) -> None:
    targets = [(k, load_target(t).obj, t) for k, t in TARGETS]
    benchmark.group = "checklist"
    benchmark.extra_info.update(kind="checklist", layer="check --all", target="--all", profile="ci", budget_s=180.0)

    def run() -> bool:
        return all(check_kind(k, cls, profile="ci", label=t).passed for k, cls, t in targets)

    assert benchmark.pedantic(run, rounds=1, iterations=1)
