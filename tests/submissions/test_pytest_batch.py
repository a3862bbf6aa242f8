"""``gradcheck.testing.submissions``: the batch collected as pytest tests, one per submission × kind × property."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

GOOD = """
import numpy as np

class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)
"""


def test_one_test_per_submission_kind_property(pytester: pytest.Pytester):
    pytester.mkdir("subs")
    for name, backward in (("good", "dout * (self.x > 0)"), ("wrong", "dout * (self.x < 0)")):
        pytester.mkdir(f"subs/{name}")
        text = GOOD.replace("dout * (self.x > 0)", backward)
        (pytester.path / "subs" / name / "modules.py").write_text(textwrap.dedent(text))
    pytester.makepyfile(
        test_course="""
        import gradcheck.testing

        test_course = gradcheck.testing.submissions("subs", timeout=120)
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "--gradcheck-max-examples", "2")
    outcomes = result.parseoutcomes()
    # relu's checklist: the same properties for both submissions; the wrong one fails input_gradient at least.
    assert outcomes.get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*test_course*wrong-ReLUModule-relu-input_gradient*"])
    assert "good-ReLUModule" not in "\n".join(line for line in result.outlines if line.startswith("FAILED"))
    total = sum(outcomes.get(k, 0) for k in ("passed", "failed", "skipped"))
    assert total % 2 == 0 and total >= 20  # one test per property, for each of the two submissions
