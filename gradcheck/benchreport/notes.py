"""The report's Notes, written from the measurements: which targets are not met, by how much, and what the
measured units of work (passes over memory, matrix products, peak bytes) say about why.

Every sentence here is a function of the records of one run; nothing is fixed text about the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gradcheck.benchreport.fmt import fmt_bytes, fmt_time

if TYPE_CHECKING:  # the records are built by report.py, which renders these notes
    from gradcheck.benchreport.report import Record, Results, TargetResult

__all__ = ["render_notes"]


def _interval(res: TargetResult) -> str:
    s = res.summary
    assert s is not None
    return f"{s.median:.2f}× (95 % interval {s.low:.2f}–{s.high:.2f}, {s.rounds} rounds)"


def _units(res: TargetResult) -> str:
    if res.impl_units is None or res.ref_units is None or not res.unit_label:
        return ""
    text = (
        f" In units of {res.unit_label}, timed in the same rounds: the layer costs {res.impl_units:.1f}, "
        f"{res.target.ref} {res.ref_units:.1f}."
    )
    floor = res.extra.get("unit_floor")
    if isinstance(floor, int | float) and res.ref_units > 0:
        text += (
            f" Its algorithm needs at least {floor:g} units ({res.extra.get('unit_floor_why', '')}): "
            f"{floor / res.ref_units:.2f}× the reference's whole forward + backward before any other work."
        )
    return text


def _target_note(res: TargetResult) -> str | None:
    t = res.target
    status = res.status
    if status == "not measured":
        return f"- **{t.label}**: not measured — {res.reason}."
    if status == "met":
        return None
    if t.measure == "memory":
        return _memory_note(res)
    bound = f"{'<' if t.strict else '≤'} {t.bound:g}×"
    if status == "inconclusive":
        head = f"- **{t.label}**: inconclusive — {_interval(res)}; the interval contains the bound {bound}."
    else:
        assert res.summary is not None
        over = res.summary.median / t.bound - 1
        head = (
            f"- **{t.label}**: not met — {_interval(res)}, {over:.0%} over the bound {bound} "
            f"({fmt_time(res.impl_median or 0)} against {fmt_time(res.ref_median or 0)})."
        )
    return head + _units(res)


def _memory_note(res: TargetResult) -> str:
    extra: Mapping[str, Any] = res.extra
    traced = [float(v) for v in extra.get("impl_traced_peaks") or []]
    cross = f"; NumPy's own allocations (tracemalloc) peak at {fmt_bytes(max(traced))}" if traced else ""
    verdict = "met" if res.status == "met" else res.status
    return (
        f"- **{res.target.label}**: {verdict} — {_interval(res).replace(' rounds', ' runs per side')}: "
        f"{fmt_bytes(res.impl_median or 0)} against {fmt_bytes(res.ref_median or 0)} ({extra.get('method', '')})"
        f"{cross}."
    )


def _met_line(results: Sequence[TargetResult]) -> str:
    met = [r for r in results if r.status == "met"]
    if not met:
        return "No target is met in this run."
    parts = [f"{r.target.id} {r.summary.median:.2f}×" for r in met if r.summary is not None]
    return f"Met ({len(met)} of {len(results)}): " + ", ".join(parts) + "."


def _memory_lines(results: Sequence[TargetResult]) -> list[str]:
    for res in results:
        if res.target.measure == "memory" and res.summary is not None and res.status == "met":
            return [_memory_note(res)]
    return []


def _load_line(results: Results) -> str:
    ours: Mapping[str, Any] = results.machine_info.get("gradcheck") or {}
    start, end = ours.get("load_at_start"), ours.get("load_at_end")
    cores = ours.get("logical_cpus")
    if not start and not end:
        return ""
    text = (
        f"Load average (1 min) {start[0] if start else '?'} at the start and {end[0] if end else '?'} at the end"
        f" on {cores or '?'} logical CPUs"
    )
    busy = any(v and cores and v[0] >= 0.5 * float(cores) for v in (start, end))
    if busy:
        text += (
            ": other work shared the machine. The ratios are interleaved (the layer and its reference alternate "
            "within each round, timed in CPU time), so both sides of a round see the same load; the intervals "
            "show how much it still moved them"
        )
    return text + "."


def _cuda_line(records: Sequence[Record]) -> str:
    gpu = [r for r in records if r.device == "cuda" and r.kind in ("kernel", "ratio") and not r.extra.get("reason")]
    if gpu:
        return f"CUDA: {len(gpu)} benchmarks ran on the GPU (wall clock, synchronised)."
    return (
        "CUDA: no GPU was available to this run; the CUDA benchmarks and the CUDA target exist (synchronised "
        "wall-clock timings) and are recorded as not measured, with the reason."
    )


def render_notes(results: Results, target_results: Sequence[TargetResult]) -> list[str]:
    """The Notes section's lines (without its heading), from this run's records and target summaries."""
    lines = [_met_line(target_results), ""]
    missed = [line for res in target_results if (line := _target_note(res)) is not None]
    if missed:
        lines += ["Not met, inconclusive or not measured:", "", *missed, ""]
    lines += _memory_lines(target_results)
    for extra in (_load_line(results), _cuda_line(results.records)):
        if extra:
            lines += ["", extra]
    return lines
