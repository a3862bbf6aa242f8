"""The checklist flags every realistic wrong variant of a layer and passes every unusual but correct one.

Each variant in :mod:`mutants` names the properties expected to catch it: the test asserts that at least one of
them fails, which documents *why* the mistake is caught. Wrong variants run only those properties (a failure stops
a property at its first failing case, so this is fast); correct variants run the whole checklist.
"""

from __future__ import annotations

import pytest
from mutants import Variant, all_variants

from gradcheck.checklist.runner import KindReport, check_kind

VARIANTS = all_variants()
WRONG = [v for v in VARIANTS if not v.correct]
CORRECT = [v for v in VARIANTS if v.correct]

# Examples per property for the correct variants: half the ci profile's, so 27 whole checklists stay affordable
# (the built-in layers get the full profile in test_builtin.py).
CORRECT_EXAMPLES = 12

# Correct variants the harness still rejects, with the reason; strict, so a fix shows up as XPASS.
# Correct variants the checklist is known to reject (strict xfail: fixing one makes its test fail loudly).
KNOWN_FALSE_ALARMS: dict[str, str] = {}


def failing(report: KindReport) -> dict[str, str]:
    return {p.name: p.message for p in report.properties if p.status in ("fail", "error")}


def test_the_suite_is_large_enough() -> None:
    assert len(WRONG) >= 45
    assert len(CORRECT) >= 8
    assert len({v.id for v in VARIANTS}) == len(VARIANTS), "variant ids must be unique"


@pytest.mark.parametrize("variant", WRONG, ids=lambda v: v.id)
def test_wrong_variant_is_caught(variant: Variant) -> None:
    report = check_kind(variant.kind, variant.cls, properties=list(variant.catches), seed=0)
    bad = failing(report)
    assert not report.passed, f"{variant.id} ({variant.why}) passed {list(variant.catches)}"
    assert set(bad) & set(variant.catches), f"{variant.id}: expected one of {variant.catches} to fail, got {bad}"
    for p in report.properties:
        if p.status in ("fail", "error"):
            assert p.example and p.example.startswith(variant.kind), p
            assert p.reproduce and f"--property {p.name}" in p.reproduce


def _correct_param(v: Variant) -> object:
    reason = KNOWN_FALSE_ALARMS.get(v.id)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(v, id=v.id, marks=marks)


@pytest.mark.parametrize("variant", [_correct_param(v) for v in CORRECT])
def test_correct_variant_passes_the_whole_checklist(variant: Variant) -> None:
    report = check_kind(variant.kind, variant.cls, seed=0, max_examples=CORRECT_EXAMPLES)
    bad = failing(report)
    details = "\n\n".join(
        f"{k}:\n{m}\nexample: {p.example}" for p in report.properties for k, m in bad.items() if p.name == k
    )
    assert report.passed, f"{variant.id} ({variant.why}) is correct but failed {sorted(bad)}:\n{details}"


def test_full_checklist_on_a_few_wrong_variants_names_the_expected_property() -> None:
    # The restricted runs above say which property catches each mistake; a handful of whole-checklist runs show
    # that the other properties do not get in the way (no crash, the expected property among the failures).
    picks = {"relu-ReLUZeroesDoutInPlace", "linear-LinearBiasMean", "linear_function-LinearFunctionClassState"}
    for variant in (v for v in WRONG if v.id in picks):
        report = check_kind(variant.kind, variant.cls, seed=1)
        bad = failing(report)
        assert set(bad) & set(variant.catches), f"{variant.id}: expected one of {variant.catches}, got {sorted(bad)}"
        assert not any(m.startswith("internal error") for m in bad.values()), bad
