"""The runner: failures shrink to minimal cases, reproduce from their command, render as JSON, and are seeded."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from gradcheck.checklist.runner import KindReport, PropertyResult, check_kind
from gradcheck.loading import load_target
from gradcheck.report.checklist import render_json

MUTANTS = Path(__file__).resolve().parents[1] / "mutants"
BIAS_MEAN = f"{MUTANTS / 'linear.py'}:LinearBiasMean"  # db averaged: wrong only when the batch has 2+ samples


def _run(spec: str, **kw: object) -> KindReport:
    return check_kind("linear", load_target(spec).obj, label=spec, **kw)  # type: ignore[arg-type]


def _failure(report: KindReport) -> PropertyResult:
    (bad,) = [p for p in report.properties if p.status == "fail"]
    return bad


def test_failure_is_shrunk_to_a_minimal_case() -> None:
    bad = _failure(_run(BIAS_MEAN, properties=["param_gradients"]))
    case = bad.case
    assert case is not None
    # The smallest case that shows a mean in place of a sum: two samples, one feature in, one out.
    assert case.batch == 2
    assert dict(case.ctor) == {"in_features": 1, "out_features": 1}
    assert case.shapes["x"] == (2, 1)
    assert bad.example == f"linear{case.describe()}"
    assert "bias" in bad.message


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
    assert (redo.name, redo.example, redo.message) == (bad.name, bad.example, bad.message)


def test_json_rendering_has_the_documented_keys() -> None:
    report = _run(BIAS_MEAN, properties=["interface", "param_gradients"])
    data = json.loads(render_json([report]))
    assert {"passed", "kind", "target", "seed", "properties"} <= data.keys()
    assert data["passed"] is False and data["kind"] == "linear" and data["target"] == BIAS_MEAN
    by_name = {p["name"]: p for p in data["properties"]}
    assert by_name["interface"]["status"] == "pass" and "reproduce" not in by_name["interface"]
    failed = by_name["param_gradients"]
    assert {"name", "status", "message", "example", "reproduce"} <= failed.keys()
    assert failed["status"] == "fail" and failed["reproduce"].startswith("gradcheck check linear ")


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
