"""The record of an elementwise comparison (:mod:`gradcheck.engine.summary`)."""

from __future__ import annotations

from gradcheck.engine.summary import worst


def test_worst_element_of_an_undefined_reference_is_the_nan_gradient() -> None:
    nan = float("nan")
    r = worst(("L", "x"), [1.0, nan, 2.0], [1.0, 0.0, 2.0], [nan, nan, nan])
    assert r.status == "fail" and r.worst_index == (1,) and r.n_mismatched == 3


def test_worst_element_is_the_largest_difference_relative_to_its_tolerance() -> None:
    r = worst(("L", "x"), [1.0, 2.5, 10.5], [1.0, 2.0, 10.0], [1.0, 0.1, 1.0])
    assert r.status == "fail" and r.worst_index == (1,) and r.n_mismatched == 1 and abs(r.margin - 0.2) < 1e-12
