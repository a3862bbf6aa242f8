"""The public API: its names and docstrings, ``check``/``assert_gradients``, option validation, bad layers and
the failure template."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from gradcheck import GradientMismatch, InvalidArgument, InvalidTarget

DOCUMENTED = {
    "GradcheckError",
    "GradcheckWarning",
    "GradientMismatch",
    "GradientResult",
    "InvalidArgument",
    "InvalidTarget",
    "LayerError",
    "Report",
    "__version__",
    "assert_gradients",
    "check",
    "check_jacobian",
    "check_kind",
    "check_layer",
}
FUNCTIONS = ["check", "assert_gradients", "check_jacobian", "check_kind", "check_layer"]


# ------------------------------------------------------------------------------------------ names and docstrings


def test_all_is_exactly_the_documented_names():
    assert set(gradcheck.__all__) == DOCUMENTED
    assert len(gradcheck.__all__) == len(DOCUMENTED)
    for name in gradcheck.__all__:
        assert getattr(gradcheck, name) is not None
    with pytest.raises(AttributeError, match="no attribute"):
        gradcheck.not_a_name  # noqa: B018


@pytest.mark.parametrize("name", FUNCTIONS)
def test_public_functions_have_complete_docstrings(name):
    fn = getattr(gradcheck, name)
    doc = inspect.getdoc(fn)
    assert doc and len(doc.splitlines()[0]) <= 120
    for section in ("Args:", "Returns:", "Raises:", "Example"):
        assert section in doc, f"{name}: no {section!r} section"
    assert ">>>" in doc, f"{name}: no runnable example"
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.KEYWORD_ONLY or (param.default is not param.empty and param.name != "self"):
            assert param.name in doc, f"{name}: parameter {param.name!r} undocumented"


@pytest.mark.parametrize("name", ["check", "assert_gradients", "check_jacobian"])
def test_numeric_docstrings_state_the_maths_and_defaults(name):
    doc = inspect.getdoc(getattr(gradcheck, name))
    assert "ε" in doc and ("≤" in doc or "tolerance" in doc.lower())  # the step/tolerance formula
    if name != "check_jacobian":
        assert all(d in doc for d in ("n_directions", "max_elementwise", "seed"))
        assert "default" in doc


@pytest.mark.parametrize("name", sorted(DOCUMENTED - set(FUNCTIONS) - {"__version__"}))
def test_public_classes_have_docstrings(name):
    doc = inspect.getdoc(getattr(gradcheck, name))
    assert doc and doc.strip().endswith(".")


def test_exception_hierarchy():
    assert issubclass(GradientMismatch, AssertionError)
    assert issubclass(InvalidArgument, ValueError) and issubclass(InvalidArgument, TypeError)
    assert issubclass(InvalidTarget, ValueError)
    for e in (GradientMismatch, InvalidArgument, InvalidTarget, gradcheck.LayerError):
        assert issubclass(e, gradcheck.GradcheckError)


# --------------------------------------------------------------------------------------------- layers used here


class Sine:
    """y = sin(x); correct backward."""

    def __init__(self, k: float = 1.0):
        self.k = k
        self.params: dict = {}
        self.grads: dict = {}

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dout):
        return self.k * dout * np.cos(self.x)


class Affine:
    """y = x·W + b with params/grads."""

    def __init__(self, wrong_w: bool = False):
        rng = np.random.default_rng(0)
        self.params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
        self.grads: dict = {}
        self.wrong_w = wrong_w

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout * (2 if self.wrong_w else 1)
        self.grads["b"] = dout.sum(0)
        return dout @ self.params["W"].T


X = np.random.default_rng(1).standard_normal((4, 3))


# ------------------------------------------------------------------------------------------------------ behaviour


def test_check_returns_a_report_per_argument():
    r = gradcheck.check(Affine(), X)
    assert r.passed and [g.location for g in r.results] == [("Affine", "x"), ("Affine", "W"), ("Affine", "b")]
    assert r.n_evals == sum(g.n_evals for g in r.results) > 0
    assert r.to_dict()["passed"] is True and "gradients passed" in str(r)
    only = gradcheck.check(Affine(), X, wrt=["W"])
    assert [g.location[-1] for g in only.results] == ["W"]


def test_check_restores_parameters_and_seed_reproduces():
    layer = Affine()
    before = {k: v.copy() for k, v in layer.params.items()}
    a = gradcheck.check(layer, X, mode="directional", seed=3)
    b = gradcheck.check(layer, X, mode="directional", seed=3)
    assert all(np.array_equal(before[k], layer.params[k]) for k in before)
    assert a.to_dict() == b.to_dict()


def test_wrong_parameter_gradient_fails_and_names_it():
    r = gradcheck.check(Affine(wrong_w=True), X)
    assert not r.passed and [g.location[-1] for g in r.failures] == ["W"]
    assert "times 2" in r.failures[0].diagnosis


def test_assert_gradients_passes_and_raises():
    assert gradcheck.assert_gradients(Sine(), X).passed
    with pytest.raises(GradientMismatch) as info:
        gradcheck.assert_gradients(Sine(k=-1.0), X, seed=7)
    assert isinstance(info.value, AssertionError)


def test_failure_message_follows_the_template():
    with pytest.raises(GradientMismatch) as info:
        gradcheck.assert_gradients(Sine(k=2.0), X, seed=7)
    lines = str(info.value).splitlines()
    assert lines[0] == "Sine: 1 of 1 gradient checks failed (seed 7)"
    assert re.fullmatch(r"Gradient mismatch: Sine → x\[\d, \d\]", lines[1]), lines[1]  # the element is located
    assert re.fullmatch(r"  12 / 12 elements mismatched \(elementwise mode\)", lines[2])
    assert re.fullmatch(r"  greatest absolute difference: \S+ at index \(\d, \d\) \(allowed \S+\)", lines[3]), lines[3]
    assert lines[1].endswith("[" + lines[3].split("at index (")[1].split(")")[0] + "]")
    assert lines[4].startswith("  greatest relative difference: ")
    assert re.fullmatch(r"  analytic: \S+   numeric: \S+", lines[5])
    assert re.fullmatch(r"  shape \(4, 3\), dtype float64, device cpu, step \S+·scale, seed 7", lines[6]), lines[6]
    assert lines[7] == "  diagnosis: the analytic gradient is the numeric one times 2"


def test_failure_message_in_directional_mode_and_float32():
    with pytest.raises(GradientMismatch) as info:
        gradcheck.assert_gradients(Sine(k=-1.0), X.astype(np.float32), mode="directional")
    msg = str(info.value)
    assert "/ 8 directions mismatched (directional mode)" in msg
    assert "dtype float32 (numerics in float64)" in msg
    assert "located by bisection" in msg


def test_assert_gradients_hides_harness_frames():
    try:
        gradcheck.assert_gradients(Sine(k=2.0), X)
    except GradientMismatch as exc:
        tb = exc.__traceback__
    else:  # pragma: no cover
        pytest.fail("no GradientMismatch")
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    # By location, not by name: the clone's own folder may be called "gradcheck" too.
    package = Path(gradcheck.__file__).resolve().parent
    harness = [f for f in frames if Path(f.f_code.co_filename).resolve().is_relative_to(package)]
    assert harness, "the raise should come from gradcheck"
    assert all(f.f_locals.get("__tracebackhide__") for f in harness), [f.f_code.co_name for f in harness]


# ---------------------------------------------------------------------------------------------- invalid options


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"mode": "quick"}, "mode='auto'"),
        ({"n_directions": 0}, "positive int"),
        ({"n_directions": 2.5}, "positive int"),
        ({"max_elementwise": -1}, "non-negative int"),
        ({"seed": -3}, "non-negative int"),
        ({"wrt": ["nope"]}, "not among the layer's inputs and parameters"),
    ],
)
@pytest.mark.parametrize("fn", [gradcheck.check, gradcheck.assert_gradients])
def test_invalid_options_raise_invalid_argument_naming_the_fix(fn, options, fix):
    with pytest.raises(InvalidArgument, match=re.escape(fix)):
        fn(Sine(), X, **options)


def test_invalid_targets():
    with pytest.raises(InvalidTarget, match="pass an instance"):
        gradcheck.check(Sine, X)
    with pytest.raises(InvalidTarget, match="expected a NumPy module"):
        gradcheck.check(np.sin, X)


# --------------------------------------------------------------------------------------------------- bad layers


class _Bad(Sine):
    pass


def _bad(name, **methods):
    return type(name, (_Bad,), methods)()


def _nan_out(self, x):
    self.x = x
    y = np.sin(x)
    y[0, 0] = np.nan
    return y


BAD_LAYERS = {
    "raising_forward": (
        _bad("RaisingForward", forward=lambda self, x: 1 / 0),
        ["RaisingForward.forward", "ZeroDivisionError", "(4, 3)"],
    ),
    "raising_backward": (
        _bad("RaisingBackward", backward=lambda self, d: [][1]),
        ["RaisingBackward.backward", "IndexError", "(4, 3)"],
    ),
    "wrong_shape": (
        _bad("WrongShape", backward=lambda self, d: (d * np.cos(self.x)).T),
        ["WrongShape.backward", "(3, 4)", "(4, 3)", "transpose"],
    ),
    "wrong_dtype": (
        _bad("WrongDtype", forward=lambda self, x: np.ones(x.shape, dtype=int)),
        ["WrongDtype.forward", "int64", "(4, 3)"],
    ),
    "nan_output": (_bad("NaNOutput", forward=_nan_out), ["NaNOutput.forward", "non-finite", "(4, 3)"]),
    "inf_output": (
        _bad("InfOutput", forward=lambda self, x: np.where(x > 0, np.inf, x)),
        ["InfOutput.forward", "non-finite", "(4, 3)"],
    ),
    "non_array_output": (
        _bad("ListOutput", forward=lambda self, x: np.sin(x).tolist()),
        ["ListOutput.forward", "list", "(4, 3)"],
    ),
}


class MissingGrad(Affine):
    def backward(self, dout):
        self.grads = {"W": self.x.T @ dout}
        return dout @ self.params["W"].T


BAD_LAYERS["grads_missing_key"] = (MissingGrad(), ["MissingGrad", "'b'", "grads", "(4, 3)", "(2,)"])


@pytest.mark.parametrize("case", sorted(BAD_LAYERS))
def test_bad_layers_give_an_error_result_naming_layer_call_and_shapes(case):
    layer, words = BAD_LAYERS[case]
    r = gradcheck.check(layer, X)
    assert not r.passed
    bad = r.failures[0]
    # A gradient of the wrong shape is a wrong gradient (fail); the others are errors of the layer.
    assert bad.status == ("fail" if case == "wrong_shape" else "error"), bad
    for w in words:
        assert w in bad.message, (w, bad.message)
    package = str(Path(gradcheck.__file__).resolve().parent)
    assert "Traceback" not in bad.message and package not in bad.message  # no harness file (whatever the folder)
    with pytest.raises(GradientMismatch) as info:
        gradcheck.assert_gradients(layer, X)
    message = str(info.value)
    assert ("Gradient mismatch: " if case == "wrong_shape" else "ERROR: ") in message and words[0] in message
    assert "0 / 0" not in message and "analytic: -" not in message  # no template lines without numbers


def test_non_finite_gradient_fails():
    inf_grad = _bad("InfGrad", backward=lambda self, d: np.where(self.x == self.x[0, 0], np.inf, d))
    r = gradcheck.check(inf_grad, X).results[0]
    assert r.status == "fail" and "non-finite" in r.diagnosis


def test_missing_gradient_is_a_skip_with_reason():
    none_grad = _bad("NoGrad", backward=lambda self, d: None)
    r = gradcheck.check(none_grad, X).results[0]
    assert r.status == "skip" and "returned no gradient" in r.message and r.passed


def test_str_of_a_report_is_its_text_rendering():
    from gradcheck.report.text import render_report
    from gradcheck.results import Report

    report = gradcheck.check(Sine(k=2.0), X, seed=7)
    assert str(report) == render_report(report)
    assert str(report).splitlines()[1].startswith("Gradient mismatch: Sine → x[")
    # Records never import their renderers: without one installed, a report still prints a summary line.
    saved = Report.text_renderer
    try:
        Report.text_renderer = None
        assert str(report) == "Sine: gradients FAILED (1 results, seed 7)"
    finally:
        Report.text_renderer = saved


def test_output_comparisons_are_titled_and_labelled_for_what_they_compare():
    from gradcheck.report.text import render_result
    from gradcheck.results import GradientResult

    fields = dict(n_checked=4, n_mismatched=1, max_abs_err=0.5, tolerance=1e-6, analytic=1.5, numeric=1.0)
    out = render_result(
        GradientResult(("L", "forward"), "fail", compared="output", against="PyTorch reference", **fields)
    )
    assert out.splitlines()[0] == "Output mismatch: L → forward"
    assert "analytic: 1.5   reference: 1" in out and "numeric" not in out
    run = render_result(GradientResult(("L", "x"), "warn", against="float64 run", **fields), prefix=("linear", "p"))
    assert run.splitlines()[0] == "Gradient mismatch (warning): linear → p → L → x"
    assert "float64 run: 1" in run
