"""The README's figures that a test can hold to the code: the size of the mutation suite."""

from __future__ import annotations

import re
from pathlib import Path

from mutants import all_variants

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _number(pattern: str) -> int:
    found = re.search(pattern, " ".join(README.split()))
    assert found, f"README no longer says {pattern!r}"
    return int(found.group(1))


def test_readme_counts_the_mutation_suite_as_it_is() -> None:
    variants = all_variants()
    wrong = [v for v in variants if not v.correct]
    correct = [v for v in variants if v.correct]
    assert _number(r"mutation suite of (\d+) realistic wrong layers") == len(wrong)
    assert _number(r"(\d+) whose bug is a crash") == sum(v.crash for v in wrong)
    assert _number(r"and (\d+) unusual but correct ones never fail") == len(correct)
    assert _number(r"\((\d+) of them must warn") == sum(bool(v.warns) for v in correct)
    assert _number(r"the (\d+)-variant mutation suite") == len(variants)
