"""The checklist fails every realistic wrong variant of a layer and never fails an unusual but correct one.

Each variant in :mod:`mutants` names the properties expected to catch it: the test asserts that at least one of
them *fails* on the layer's values (an error counts only for a variant whose bug is a crash, marked ``crash``),
which documents *why* the mistake is caught. Wrong variants run only those properties (a failure stops a property
at its first failing case, so this is fast); correct variants run the whole checklist and may warn, but never
fail; a correct variant declared with ``warns`` must warn in those properties. The profile is pinned to ``dev``
(the smallest), so the verdicts are the same with CI set or unset.
"""

from __future__ import annotations

import pytest
from mutants import Variant, all_variants

from gradcheck.checklist.runner import KindReport, check_kind

VARIANTS = all_variants()
WRONG = [v for v in VARIANTS if not v.correct]
CORRECT = [v for v in VARIANTS if v.correct]

# Examples per property for the correct variants: half the ci profile's, so the whole checklists stay affordable
# (the built-in layers get the full profile in test_builtin.py).
CORRECT_EXAMPLES = 12


def caught_by(report: KindReport, variant: Variant) -> set[str]:
    """The properties whose verdict counts as catching ``variant``: a failure, or an error for a crash bug."""
    counted = ("fail", "error") if variant.crash else ("fail",)
    return {p.name for p in report.properties if p.status in counted}


def _shown(report: KindReport, names: set[str]) -> str:
    return "\n\n".join(f"{p.name}: {p.to_dict()}" for p in report.properties if p.name in names)


def test_the_suite_is_large_enough() -> None:
    assert len(WRONG) >= 45
    assert len(CORRECT) >= 8
    assert len({v.id for v in VARIANTS}) == len(VARIANTS), "variant ids must be unique"
    assert all(not v.warns for v in WRONG) and all(not v.crash for v in CORRECT)


@pytest.mark.parametrize("variant", WRONG, ids=lambda v: v.id)
def test_wrong_variant_is_caught(variant: Variant) -> None:
    report = check_kind(variant.kind, variant.cls, properties=list(variant.catches), seed=0, profile="dev")
    statuses = {p.name: p.status for p in report.properties}
    assert caught_by(report, variant) & set(variant.catches), (
        f"{variant.id} ({variant.why}): expected one of {variant.catches} to fail"
        f"{' or error' if variant.crash else ''}, got {statuses}"
    )
    assert not report.passed
    for p in report.properties:
        if p.status in ("fail", "error"):
            assert p.example and p.example.startswith(variant.kind), p
            assert p.reproduce and f"--property {p.name}" in p.reproduce


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.id)
def test_correct_variant_never_fails(variant: Variant) -> None:
    report = check_kind(variant.kind, variant.cls, seed=0, max_examples=CORRECT_EXAMPLES, profile="dev")
    bad = {p.name for p in report.properties if p.status in ("fail", "error")}
    assert not bad, f"{variant.id} ({variant.why}) is correct but failed {sorted(bad)}:\n{_shown(report, bad)}"
    warned = {p.name for p in report.properties if p.status == "warn"}
    missing = set(variant.warns) - warned
    assert not missing, f"{variant.id} ({variant.why}) should warn in {sorted(missing)}; warned in {sorted(warned)}"


def test_full_checklist_on_a_few_wrong_variants_names_the_expected_property() -> None:
    # The restricted runs above say which property catches each mistake; a handful of whole-checklist runs show
    # that the other properties do not get in the way (no crash, the expected property among the failures).
    picks = {"relu-ReLUZeroesDoutInPlace", "linear-LinearBiasMean", "linear_function-LinearFunctionClassState"}
    for variant in (v for v in WRONG if v.id in picks):
        report = check_kind(variant.kind, variant.cls, seed=1, profile="dev")
        assert caught_by(report, variant) & set(variant.catches), f"{variant.id}: {report.counts}"
        errors = {p.name for p in report.properties if p.status == "error"}
        assert not errors, f"{variant.id}: properties crashed on a wrong but runnable layer: {sorted(errors)}"
