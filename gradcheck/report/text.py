"""Plain-text rendering of gradient results: the harness's one failure template."""

from __future__ import annotations

from gradcheck.results import GradientResult, Report

__all__ = ["format_result", "render_failures", "render_report"]


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.6g}"


def _where(r: GradientResult) -> str:
    if r.worst_index is None:
        return ""
    if r.mode == "directional" and len(r.worst_index) == 1 and not r.diagnosis.count("bisection"):
        return f" in direction {r.worst_index[0]}"
    return f" at index {r.worst_index}"


def _step_seed(r: GradientResult) -> str:
    parts = [f", step {r.step:.3g}·scale" if r.step else "", f", seed {r.seed}" if r.seed is not None else ""]
    return "".join(parts)


def format_result(r: GradientResult) -> str:
    """The fixed multi-line message for one result (one line for passes)."""
    path = " → ".join(r.location)
    if r.status in ("error", "skip"):
        return f"{r.status.upper()}: {path}: {r.message}"
    if r.passed:
        kinks = f", {r.n_kinks} at kinks (accepted between the one-sided slopes)" if r.n_kinks else ""
        return f"ok: {path} ({r.mode}, {r.n_checked} checked{kinks}, {r.n_evals} evaluations)"
    unit = "elements" if r.mode == "elementwise" else "directions" if r.mode == "directional" else "entries"
    numerics = r.dtype if r.eval_dtype == r.dtype else f"{r.dtype} (numerics in {r.eval_dtype})"
    lines = [
        f"Gradient mismatch: {path}",
        f"  {r.n_mismatched} / {r.n_checked} {unit} mismatched ({r.mode} mode)",
        f"  greatest absolute difference: {_g(r.max_abs_err)}{_where(r)} (allowed {_g(r.tolerance)})",
        f"  greatest relative difference: {_g(r.max_rel_err)}",
        f"  analytic: {_g(r.analytic)}   numeric: {_g(r.numeric)}",
        f"  shape {r.shape}, dtype {numerics}, device {r.device}" + _step_seed(r),
    ]
    if r.diagnosis:
        lines.append(f"  diagnosis: {r.diagnosis}")
    return "\n".join(lines)


def render_failures(report: Report) -> str:
    """Summary line plus every failing result in full."""
    bad = report.failures
    head = f"{report.target}: {len(bad)} of {len(report.results)} gradient checks failed (seed {report.seed})"
    return "\n".join([head, *(format_result(r) for r in bad)])


def render_report(report: Report) -> str:
    """One line per result, failures in full."""
    verdict = "passed" if report.passed else "FAILED"
    lines = [f"{report.target}: gradients {verdict} ({report.n_evals} evaluations, seed {report.seed})"]
    lines += [format_result(r) for r in report.results]
    return "\n".join(lines)
