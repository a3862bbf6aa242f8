"""docs/checklist.md: committed as generated, and checked against facts stated here, not re-derived from the
registries it is generated from."""

from __future__ import annotations

import re
from pathlib import Path

from gradcheck.kinds import KINDS, get_kind
from gradcheck.report.checklist_doc import render_checklist_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "checklist.md"
TEXT = DOC.read_text(encoding="utf-8")

#: The checklist, in the order a person follows it (stated here; the registry must agree).
PROPERTIES = [
    "interface",
    "forward",
    "finite",
    "input_gradient",
    "param_gradients",
    "autograd_agreement",
    "upstream_linearity",
    "purity",
    "state",
    "batch_semantics",
    "invariants",
    "dtype_parity",
    "module_contract",
    "double_backward",
    "device_parity",
    "trainability",
]
#: Every kind of layer the project ships, with one built-in implementation each at least.
KIND_NAMES = {
    "relu",
    "leaky_relu",
    "elu",
    "softmax",
    "cross_entropy",
    "linear",
    "linear_function",
    "batchnorm",
    "batchnorm_function",
    "batchnorm_module",
    "layernorm_function",
    "layernorm_module",
    "conv2d",
    "conv2d_function",
    "maxpool2d",
    "mlp",
}


def _section(title: str) -> str:
    return TEXT.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_committed_doc_is_the_generated_one() -> None:
    assert render_checklist_doc() == TEXT, "run: gradcheck list --markdown > docs/checklist.md"


def test_every_property_is_documented_in_checklist_order() -> None:
    headings = re.findall(r"^### \d+\. `(\w+)` — .+$", TEXT, flags=re.M)
    assert headings == PROPERTIES
    for block in _section("Properties").split("\n### ")[1:]:
        for field in ("**Verifies:**", "**Guards this step of a derivation:**", "**A failure means:**"):
            assert re.search(re.escape(field) + r" \S.{10,}", block), (field, block[:60])
        assert "**Applies to:**" in block


def test_every_kind_is_in_the_table_with_its_builtin_layer() -> None:
    rows = re.findall(r"^\| `(\w+)` \|.*\| (`[\w.:]+`(?:, `[\w.:]+`)*) \|$", _section("Kinds"), flags=re.M)
    assert {name for name, _ in rows} == KIND_NAMES
    assert all(builtin.startswith("`layers:") for _, builtin in rows), rows


def test_module_contract_applies_to_the_module_kinds_only() -> None:
    block = _section("Properties").split("`module_contract`", 1)[1].split("\n### ", 1)[0]
    assert "**Applies to:** batchnorm_module, layernorm_module." in block


def test_every_declared_edge_case_is_listed_under_its_kind() -> None:
    get_kind("relu")  # loads the declarations
    lines = dict(re.findall(r"^- `(\w+)`: (.+)$", _section("Edge cases"), flags=re.M))
    for kind in KINDS.values():
        for edge in kind.edges():
            assert edge.label in lines.get(kind.name, ""), (kind.name, edge.label)


def test_the_verdict_levels_are_described() -> None:
    verdicts = _section("Verdicts")
    for level in ("pass", "warn", "fail", "error", "skip"):
        assert f"- **{level}**:" in verdicts
    assert "--strict" in verdicts and "exit status 0" in verdicts


def test_the_header_shown_in_the_doc_is_what_a_run_prints() -> None:
    from gradcheck.checklist.runner import KindReport, PropertyResult
    from gradcheck.report.checklist import verdict_line

    statuses = ["pass"] * 13 + ["warn"] + ["skip"] * 2
    props = tuple(PropertyResult(f"p{i}", "t", s) for i, s in enumerate(statuses))  # type: ignore[arg-type]
    line = verdict_line(KindReport("linear", "x", 0, "dev", props))
    assert f"`{line}`" in _section("Verdicts")
