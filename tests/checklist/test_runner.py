"""The runner: failures shrink to minimal cases and reproduce from their command; verdict levels (warn, strict);
the layer's exceptions, SystemExit and Ctrl-C; explicit cases first; progress; the JSON carries the numbers."""

from __future__ import annotations

import json
import operator
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from gradcheck.checklist.profiles import PROFILES, examples_for, profile_settings
from gradcheck.checklist.runner import Interrupted, KindReport, PropertyResult, check_kind, planned_cases
from gradcheck.kinds import get_kind
from gradcheck.loading import load_target
from gradcheck.properties import load
from gradcheck.properties.registry import PROPERTIES, Outcome, Property
from gradcheck.report.checklist import render_json, render_text
from gradcheck.results import Finding, GradientResult
from layers import LinearModule

MUTANTS = Path(__file__).resolve().parents[1] / "mutants"
BIAS_MEAN = f"{MUTANTS / 'linear.py'}:LinearBiasMean"  # db averaged: wrong only when the batch has 2+ samples


def _run(spec: str, **kw: object) -> KindReport:
    return check_kind("linear", load_target(spec).obj, label=spec, **kw)  # type: ignore[arg-type]


def _failure(report: KindReport) -> PropertyResult:
    (bad,) = [p for p in report.properties if p.status == "fail"]
    return bad


def _extra_property(monkeypatch: pytest.MonkeyPatch, name: str, fn: object) -> None:
    """Register a property for one test (the registry is restored afterwards)."""
    prop = Property(name, f"test property {name}", "-", "-", "-", fn)  # type: ignore[arg-type]
    monkeypatch.setitem(PROPERTIES, name, prop)


# ------------------------------------------------------------------------------------- shrinking, reproducing


def test_failure_is_shrunk_to_a_minimal_case() -> None:
    bad = _failure(_run(BIAS_MEAN, properties=["param_gradients"]))
    case = bad.case
    assert case is not None
    # The smallest case that shows a mean in place of a sum: two samples, one feature in, one out.
    assert case.batch == 2
    assert dict(case.ctor) == {"in_features": 1, "out_features": 1}
    assert case.shapes["x"] == (2, 1)
    assert bad.example == f"linear{case.describe()}"
    assert bad.outcome is not None
    (wrong,) = bad.outcome.problems
    assert wrong.location[-1] == "bias" and wrong.status == "fail" and wrong.margin < 1


def test_reproduce_command_reproduces_the_failure() -> None:
    bad = _failure(_run(BIAS_MEAN, properties=["param_gradients"], seed=3, profile="dev"))
    assert bad.reproduce is not None
    argv = shlex.split(bad.reproduce)
    assert argv[:2] == ["gradcheck", "check"]
    kind, target = argv[2], argv[3]
    opts = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert opts.keys() == {"--seed", "--profile", "--property"}
    again = check_kind(
        kind,
        load_target(target).obj,
        seed=int(opts["--seed"]),
        profile=opts["--profile"],
        properties=[opts["--property"]],
        label=target,
    )
    redo = _failure(again)
    assert (redo.name, redo.example, redo.outcome) == (bad.name, bad.example, bad.outcome)


def test_same_seed_gives_the_same_report() -> None:
    def strip(report: KindReport) -> dict:
        d = report.to_dict()
        d.pop("seconds")
        for p in d["properties"]:
            p.pop("seconds")
        return d

    first = _run(BIAS_MEAN, properties=["param_gradients", "batch_semantics"], seed=11, profile="dev")
    second = _run(BIAS_MEAN, properties=["param_gradients", "batch_semantics"], seed=11, profile="dev")
    assert strip(first) == strip(second)
    assert not first.passed


# ------------------------------------------------------------------------------------------------------- JSON


def test_json_carries_the_numbers_of_every_failure() -> None:
    report = _run(BIAS_MEAN, properties=["interface", "param_gradients"])
    data = json.loads(render_json([report]))
    assert {"passed", "verdict", "strict", "kind", "target", "seed", "counts", "properties"} <= data.keys()
    assert data["passed"] is False and data["verdict"] == "fail" and data["target"] == BIAS_MEAN
    assert data["counts"] == {"pass": 1, "warn": 0, "fail": 1, "error": 0, "skip": 0}
    by_name = {p["name"]: p for p in data["properties"]}
    assert by_name["interface"]["status"] == "pass" and "reproduce" not in by_name["interface"]
    failed = by_name["param_gradients"]
    assert {"name", "status", "message", "example", "reproduce", "details", "findings", "fault"} <= failed.keys()
    assert failed["status"] == "fail" and failed["reproduce"].startswith("gradcheck check linear ")
    bias = next(d for d in failed["details"] if d["location"][-1] == "bias")
    assert bias["status"] == "fail" and bias["max_abs_err"] > bias["tolerance"] > 0
    assert bias["margin"] == pytest.approx(bias["tolerance"] / bias["max_abs_err"])
    assert "Gradient mismatch: linear → param_gradients → " in failed["message"]


def test_a_passing_property_carries_its_smallest_margin() -> None:
    report = check_kind("linear", LinearModule, properties=["input_gradient"], max_examples=3)
    (p,) = report.properties
    assert p.status == "pass" and p.outcome is None
    # Correct gradients agree far inside the tolerance; the margin is the smallest over every case run.
    assert 1 < p.margin < float("inf")
    assert json.loads(render_json([report]))["properties"][0]["margin"] == pytest.approx(p.margin)


# ----------------------------------------------------------------------------------------------- verdict levels


def _warns(trial: object) -> Outcome:
    return Outcome.from_records(findings=(Finding("dtype", "warn", "float64 output for float32 inputs"),))


def test_a_warning_leaves_the_run_passing_unless_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    _extra_property(monkeypatch, "always_warns", _warns)
    lenient = check_kind("linear", LinearModule, properties=["forward", "always_warns"], max_examples=2)
    assert [p.status for p in lenient.properties] == ["pass", "warn"]
    assert lenient.verdict == "warn" and lenient.passed and not lenient.strict
    strict = check_kind("linear", LinearModule, properties=["always_warns"], max_examples=2, strict=True)
    assert strict.verdict == "warn" and not strict.passed and strict.to_dict()["strict"] is True
    assert strict.properties[0].reproduce is not None and strict.properties[0].reproduce.endswith(" --strict")
    text = render_text([lenient])
    assert "passed with warnings (2 checked: 1 passed, 1 warning)" in text.splitlines()[0]
    assert "  ⚠ always_warns" in text and "\nwarnings:\n--- always_warns: WARNING" in text
    assert "warning: dtype: float64 output for float32 inputs" in text
    assert "FAILED (strict: warnings fail)" in render_text([strict])
    prop = json.loads(render_json([lenient]))["properties"][1]
    assert prop["status"] == "warn" and prop["findings"][0]["observed"] == "float64 output for float32 inputs"


def test_a_gradient_property_that_checked_nothing_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def nothing(trial: object) -> Outcome:
        return Outcome("skip", reason="LinearModule.backward returned no gradient for x")

    _extra_property(monkeypatch, "input_gradient", nothing)
    report = check_kind("linear", LinearModule, properties=["input_gradient"], max_examples=2)
    (p,) = report.properties
    assert p.status == "warn" and report.verdict == "warn"
    assert "not checked: LinearModule.backward returned no gradient for x" in render_text([report])
    # A property that does not apply to the kind is an ordinary skip.
    skipped = check_kind("linear", LinearModule, properties=["module_contract"], max_examples=2)
    assert skipped.verdict == "skip" and skipped.properties[0].reason == "only for torch.nn.Module kinds"


def test_counts_and_header_say_how_many_properties_were_checked() -> None:
    report = check_kind("linear", LinearModule, properties=["forward", "module_contract"], max_examples=2)
    assert report.counts == {"pass": 1, "warn": 0, "fail": 0, "error": 0, "skip": 1}
    assert (
        render_text([report])
        .splitlines()[0]
        .startswith("linear · LinearModule: passed (1 checked: 1 passed; 1 skipped)")
    )


# ---------------------------------------------------------------------------------- the layer's own exceptions


class RaisingLinear(LinearModule):
    def forward(self, x):  # type: ignore[no-untyped-def]
        raise ValueError("shapes do not align")


class ExitingLinear(LinearModule):
    def forward(self, x):  # type: ignore[no-untyped-def]
        sys.exit(0)


class InterruptedLinear(LinearModule):
    def backward(self, dout):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt


def test_a_layer_exception_is_the_layers_located_and_said_once() -> None:
    report = check_kind("linear", RaisingLinear, properties=["interface", "forward", "finite"], max_examples=2)
    assert [p.status for p in report.properties] == ["error"] * 3
    faults = {p.outcome.fault for p in report.properties if p.outcome}
    (fault,) = faults
    assert fault is not None and (fault.exc_type, fault.message) == ("ValueError", "shapes do not align")
    assert fault.file == __file__ and fault.source == 'raise ValueError("shapes do not align")'
    text = render_text([report])
    assert "internal error" not in text
    assert text.count(f"at {__file__}:{fault.line}") == 1
    assert text.count("ValueError: same error as in interface") == 2


def test_system_exit_in_the_layer_is_an_error_of_the_property_and_the_run_goes_on() -> None:
    report = check_kind("linear", ExitingLinear, properties=["forward", "module_contract"], max_examples=2)
    forward, contract = report.properties
    assert forward.status == "error" and contract.status == "skip" and not report.passed
    assert forward.outcome is not None and forward.outcome.fault is not None
    assert forward.outcome.fault.exc_type == "SystemExit" and forward.outcome.fault.file == __file__


def test_ctrl_c_stops_the_run_with_a_partial_report() -> None:
    with pytest.raises(Interrupted) as info:
        check_kind("linear", InterruptedLinear, properties=["forward", "input_gradient", "finite"], max_examples=2)
    assert isinstance(info.value, KeyboardInterrupt)
    partial = info.value.report
    assert partial.interrupted and not partial.passed
    assert [p.name for p in partial.properties] == ["forward"]
    assert render_text([partial]).splitlines()[0].startswith("linear · InterruptedLinear: INTERRUPTED")


def test_a_harness_bug_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # operator.itemgetter fails in C, called from the runner: no frame of the user's code is involved.
    _extra_property(monkeypatch, "buggy", operator.itemgetter("no such key"))
    report = check_kind("linear", LinearModule, properties=["buggy"], max_examples=2)
    (p,) = report.properties
    assert p.status == "error" and p.outcome is not None and p.outcome.fault is None
    assert p.reason.startswith("internal error in property 'buggy': TypeError")


# ------------------------------------------------------------------------------------ cases, profiles, progress


def test_explicit_cases_run_first_and_do_not_count_towards_the_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = get_kind("linear")
    explicit = kind.explicit_cases(5)
    assert explicit, "the linear kind declares edge cases"
    seen = []

    def record(trial: object) -> Outcome:
        seen.append(trial.case)  # type: ignore[attr-defined]
        return Outcome("pass")

    _extra_property(monkeypatch, "record", record)
    report = check_kind(kind, LinearModule, properties=["record"], max_examples=4, seed=5)
    assert seen[: len(explicit)] == explicit
    assert len(seen) == len(explicit) + 4 == report.properties[0].n_examples


def test_progress_counts_every_planned_case_once() -> None:
    calls: list[tuple[str, int, int]] = []
    names = ["forward", "module_contract", "input_gradient"]
    check_kind("linear", LinearModule, properties=names, max_examples=3, on_case=lambda *a: calls.append(a))
    total = planned_cases("linear", max_examples=3, properties=names)
    n_explicit = len(get_kind("linear").explicit_cases())
    cost = {n: load()[n].cost for n in names}
    # module_contract does not apply to a NumPy kind; an expensive property gets fewer examples, at least 2.
    assert total == sum(n_explicit + max(2, 3 // cost[n]) for n in ("forward", "input_gradient"))
    assert [c[1] for c in calls] == list(range(1, total + 1)) and {c[2] for c in calls} == {total}
    assert {c[0] for c in calls} == {"forward", "input_gradient"}


def test_profiles_are_hypothesis_settings_profiles() -> None:
    for name, n in PROFILES.items():
        s = profile_settings(name)
        assert s is settings.get_profile(f"gradcheck-{name}")
        assert s.max_examples == n == examples_for(name, 1) and s.deadline is None and s.database is None
    assert examples_for("ci", 4) == PROFILES["ci"] // 4
    assert examples_for("dev", 100) == 2  # an expensive property still gets two cases


def test_invalid_arguments_are_refused_before_anything_runs() -> None:
    from gradcheck.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown profile 'fast'"):
        check_kind("linear", LinearModule, profile="fast")
    with pytest.raises(InvalidArgument, match="max_examples must be at least 1"):
        check_kind("linear", LinearModule, max_examples=0)
    with pytest.raises(InvalidArgument, match="unknown properties"):
        check_kind("linear", LinearModule, properties=["gradients"])


def test_the_report_record_of_a_comparison_is_kept_whole() -> None:
    # The decisive outcome keeps passing comparisons too: their margins are data.
    r = GradientResult(("L", "x"), "pass", max_abs_err=1e-9, tolerance=1e-6)
    outcome = Outcome.from_records((r,))
    assert outcome.status == "pass" and outcome.margin == pytest.approx(1e3) and outcome.problems == ()
    assert np.isinf(Outcome("pass").margin)
