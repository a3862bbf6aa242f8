"""Plain-text rendering of records: the harness's one failure template, findings and the layer's faults.

A comparison (:class:`~gradcheck.results.GradientResult`) renders as::

    Gradient mismatch: linear → param_gradients → Lin → bias[1]
      2 / 3 elements mismatched (elementwise mode)
      greatest absolute difference: 0.5 at index (1,) (allowed 1e-09)
      greatest relative difference: 0.25
      analytic: 2.5   numeric: 2
      shape (3,), dtype float64, device cpu, step 6.06e-06·scale, seed 0
      diagnosis: ...

titled "Output mismatch" when forward values were compared, with "reference" (or what the value was compared
with) in place of "numeric" unless the reference is finite differences. A :class:`~gradcheck.results.Finding`
is one line; a :class:`~gradcheck.results.LayerFault` is the exception, its file and line, and the source line.
"""

from __future__ import annotations

from gradcheck.results import Finding, GradientResult, LayerFault, Report

__all__ = [
    "fault_headline",
    "format_result",
    "render_failures",
    "render_fault",
    "render_finding",
    "render_report",
    "render_result",
    "title",
]


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def _localised(r: GradientResult) -> bool:
    """Whether ``worst_index`` is an element (not the number of a random direction)."""
    if r.worst_index is None:
        return False
    return not (r.mode == "directional" and len(r.worst_index) == 1 and "bisection" not in r.diagnosis)


def _where(r: GradientResult) -> str:
    if r.worst_index is None:
        return ""
    return f" at index {r.worst_index}" if _localised(r) else f" in direction {r.worst_index[0]}"


def _path(r: GradientResult, prefix: tuple[str, ...]) -> str:
    parts = [*prefix, *r.location]
    if _localised(r) and parts and r.worst_index:
        parts[-1] += "[" + ", ".join(str(i) for i in r.worst_index) + "]"
    return " → ".join(parts)


def _step_seed(r: GradientResult) -> str:
    parts = [f", step {r.step:.3g}·scale" if r.step else "", f", seed {r.seed}" if r.seed is not None else ""]
    return "".join(parts)


def title(r: GradientResult) -> str:
    """What was compared: "Gradient mismatch", "Output mismatch" (with "(warning)" for a warning)."""
    what = {"gradient": "Gradient", "output": "Output"}.get(r.compared, r.compared.capitalize() or "Value")
    return f"{what} mismatch" + (" (warning)" if r.status == "warn" else "")


def _reference_label(r: GradientResult) -> str:
    if r.against == "finite differences":
        return "numeric"
    return "reference" if r.against in ("PyTorch reference", "") else r.against


def render_result(r: GradientResult, prefix: tuple[str, ...] = ()) -> str:
    """The fixed multi-line message for one comparison (one line for passes, errors and skips).

    ``prefix`` goes in front of the record's location (the checklist passes the kind and the property).
    """
    path = " → ".join([*prefix, *r.location])
    if r.status in ("error", "skip"):
        return f"{r.status.upper()}: {path}: {r.message}"
    if r.status in ("pass", "kink"):
        kinks = f", {r.n_kinks} at kinks (accepted between the one-sided slopes)" if r.n_kinks else ""
        return f"ok: {path} ({r.mode}, {r.n_checked} checked{kinks}, {r.n_evals} evaluations)"
    if not r.n_checked:  # nothing was compared (a gradient of the wrong shape): the record's message says why
        return f"{title(r)}: {_path(r, prefix)}: {r.message}" + (f"\n  diagnosis: {r.diagnosis}" if r.diagnosis else "")
    unit = "elements" if r.mode == "elementwise" else "directions" if r.mode == "directional" else "entries"
    numerics = r.dtype if r.eval_dtype in (r.dtype, "") else f"{r.dtype} (numerics in {r.eval_dtype})"
    lines = [
        f"{title(r)}: {_path(r, prefix)}",
        f"  {r.n_mismatched} / {r.n_checked} {unit} mismatched" + (f" ({r.mode} mode)" if r.mode else ""),
        f"  greatest absolute difference: {_g(r.max_abs_err)}{_where(r)} (allowed {_g(r.tolerance)})",
        f"  greatest relative difference: {_g(r.max_rel_err)}",
        f"  analytic: {_g(r.analytic)}   {_reference_label(r)}: {_g(r.numeric)}",
        f"  shape {r.shape}, dtype {numerics}, device {r.device}" + _step_seed(r),
    ]
    if r.diagnosis:
        lines.append(f"  diagnosis: {r.diagnosis}")
    return "\n".join(lines)


#: The name under which :func:`render_result` was first published.
format_result = render_result


def render_finding(f: Finding, prefix: tuple[str, ...] = ()) -> str:
    """One line: ``check at location: observed; expected …; off by error, allowed tolerance; explanation``."""
    where = " → ".join([*prefix, *f.location])
    parts = [f"{f.check}{f' at {where}' if where else ''}: {f.observed}"]
    if f.expected:
        parts.append(f"expected {f.expected}")
    if f.error is not None:
        parts.append(f"off by {_g(f.error)}" + (f", allowed {_g(f.tolerance)}" if f.tolerance is not None else ""))
    if f.explanation:
        parts.append(f.explanation)
    return ("warning: " if f.status == "warn" else "") + "; ".join(parts)


def fault_headline(fault: LayerFault) -> str:
    """``Layer.call raised Type: message``."""
    return f"{fault.layer}.{fault.call} raised {fault.exc_type}: {fault.message}"


def render_fault(fault: LayerFault) -> str:
    """The layer's exception, where it was raised in the user's file, and that source line."""
    lines = [fault_headline(fault)]
    if fault.file:
        lines.append(f"  at {fault.file}:{fault.line}" if fault.line is not None else f"  at {fault.file}")
        if fault.source:
            lines.append(f"    {fault.source}")
    if fault.context:
        lines.append(f"  called with {fault.context}")
    return "\n".join(lines)


def render_failures(report: Report) -> str:
    """Summary line plus every failing result in full."""
    bad = report.failures
    head = f"{report.target}: {len(bad)} of {len(report.results)} gradient checks failed (seed {report.seed})"
    return "\n".join([head, *(render_result(r) for r in bad)])


def render_report(report: Report) -> str:
    """One line per result, failures in full."""
    verdict = "passed" if report.passed else "FAILED"
    lines = [f"{report.target}: gradients {verdict} ({report.n_evals} evaluations, seed {report.seed})"]
    lines += [render_result(r) for r in report.results]
    return "\n".join(lines)


Report.text_renderer = render_report  # str(report) renders with the template (see Report.text_renderer)
