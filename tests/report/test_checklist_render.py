"""The checklist's renderings are made from the records alone: faults said once, findings on one line, the counts."""

from __future__ import annotations

import json

from gradcheck.checklist.runner import KindReport, PropertyResult
from gradcheck.properties.registry import Outcome
from gradcheck.report.checklist import render_json, render_markdown, render_text
from gradcheck.report.text import render_fault, render_finding
from gradcheck.results import Finding, GradientResult, LayerFault

FAULT = LayerFault("Lin", "forward", "ValueError", "broken", "/home/me/lin.py", 12, "raise ValueError('broken')")
PROMOTION = Finding(
    "dtype",
    "warn",
    "forward returned float64 for float32 inputs",
    expected="float32",
    error=0.5,
    tolerance=0.25,
    explanation="a float64 constant?",
)


def _prop(name: str, status: str, outcome: Outcome | None = None, reason: str = "") -> PropertyResult:
    return PropertyResult(name, f"title of {name}", status, outcome, reason, example="linear(...)")  # type: ignore[arg-type]


def _report(*props: PropertyResult, strict: bool = False) -> KindReport:
    return KindReport("linear", "lin.py:Lin", 0, "dev", props, strict=strict)


def test_a_fault_is_the_exception_its_place_and_its_source_line() -> None:
    assert render_fault(FAULT).splitlines() == [
        "Lin.forward raised ValueError: broken",
        "  at /home/me/lin.py:12",
        "    raise ValueError('broken')",
    ]


def test_a_finding_is_one_line() -> None:
    assert render_finding(PROMOTION) == (
        "warning: dtype: forward returned float64 for float32 inputs; expected float32; off by 0.5, allowed 0.25; "
        "a float64 constant?"
    )


def test_the_same_fault_is_shown_once_and_referred_to_by_the_others() -> None:
    in_record = GradientResult(("Lin", "x"), "error", message="Lin.forward raised ValueError: broken", fault=FAULT)
    report = _report(
        _prop("interface", "error", Outcome("error", fault=FAULT)),
        _prop("input_gradient", "error", Outcome("error", details=(in_record, in_record))),
        _prop("forward", "error", Outcome("error", fault=FAULT)),
    )
    text = render_text([report])
    assert text.count("at /home/me/lin.py:12") == 1
    assert text.count("Lin.forward raised ValueError: same error as in interface") == 2
    assert "FAILED (3 checked: 0 passed, 3 errors)" in text.splitlines()[0]
    # JSON: every property carries its own record and a self-contained message.
    data = json.loads(render_json([report]))
    assert [p["message"].count("at /home/me/lin.py:12") for p in data["properties"]] == [1, 1, 1]
    assert data["properties"][1]["details"][0]["fault"]["line"] == 12


def test_the_same_cause_on_the_same_case_is_explained_once() -> None:
    boundary = "probabilities exactly 0 (outside the open domain (0, 1] of log x)"

    def at_boundary(prop: str, seen: str) -> PropertyResult:
        finding = Finding(f"{prop} at the domain boundary", "warn", seen, explanation=boundary)
        return _prop(prop, "warn", Outcome("warn", findings=(finding,)))

    text = render_text([_report(at_boundary("forward", "nan"), at_boundary("finite", "1 non-finite entry"))])
    assert text.count(boundary) == 1 and text.count("linear(...)") == 1
    assert "1 non-finite entry" in text and "the same cause as in forward" in text
    assert "example: the same case as in forward" in text


def test_warnings_have_their_section_in_text_and_markdown() -> None:
    report = _report(
        _prop("forward", "pass"),
        _prop("dtype_parity", "warn", Outcome("warn", findings=(PROMOTION,))),
        _prop("module_contract", "skip", reason="only for torch.nn.Module kinds"),
    )
    text = render_text([report])
    assert text.splitlines()[0].startswith(
        "linear · lin.py:Lin: passed with warnings (2 checked: 1 passed, 1 warning; 1 skipped)"
    )
    assert "  ⚠ dtype_parity" in text and "\nwarnings:\n--- dtype_parity: WARNING (title of dtype_parity)\n" in text
    markdown = render_markdown([report])
    assert "| dtype_parity | ⚠ warn | warning: dtype: forward returned float64" in markdown
    assert "### warnings" in markdown and "### failures" not in markdown
    assert "FAILED (strict: warnings fail)" in render_text([_report(*report.properties, strict=True)])


def test_transitional_free_text_is_shown_only_without_records() -> None:
    text_only = _prop("invariants", "fail", Outcome("fail", message="rows do not sum to 1"))
    both = _prop("forward", "fail", Outcome("fail", message="old text", findings=(PROMOTION,)))
    text = render_text([_report(text_only, both)])
    assert "rows do not sum to 1" in text and "old text" not in text
