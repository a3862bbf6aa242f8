"""docs/checklist.md is generated from the registries and must not drift from them."""

from pathlib import Path

from gradcheck.properties import load
from gradcheck.report.checklist_doc import render_checklist_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "checklist.md"


def test_checklist_doc_is_up_to_date() -> None:
    assert DOC.read_text() == render_checklist_doc(), "run: gradcheck list --markdown > docs/checklist.md"


def test_every_property_is_documented_with_what_it_guards() -> None:
    text = render_checklist_doc()
    for prop in load().values():
        assert f"`{prop.name}`" in text
        assert prop.verifies and prop.guards and prop.failure_means
