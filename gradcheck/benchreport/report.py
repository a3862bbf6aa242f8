"""Read pytest-benchmark JSON into records, evaluate the targets, render the Markdown report.

Everything here is a pure function of the loaded records: tables, ratios and targets are data
(:class:`Row`, :class:`TargetResult`) first and Markdown second. Ratios are ratios of medians from the same
run (one pytest-benchmark group per layer, size, dtype and device); a cell is *noisy* when its interquartile
range exceeds :data:`NOISY` of its median.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradcheck.benchreport import machine
from gradcheck.benchreport.fmt import fmt_bytes, fmt_time
from gradcheck.benchreport.notes import render_notes
from gradcheck.benchreport.stats import MIN_ROUNDS, RatioSummary, summarize_ratio, verdict
from gradcheck.errors import InvalidArgument

__all__ = [
    "NOISY",
    "TARGETS",
    "Record",
    "Results",
    "Target",
    "TargetResult",
    "evaluate_target",
    "evaluate_targets",
    "load_results",
    "render_markdown",
    "target_by_id",
]

NOISY = 0.2
"""A median is flagged as noisy when IQR / median exceeds this."""

NOISY_MARK = "⚠"
REFERENCE = "torch"
IMPL_ORDER = ("numpy", "function", "autograd", "torch")
IMPL_NAMES = {
    "numpy": "NumPy module",
    "function": "torch Function",
    "autograd": "autograd-composed",
    "torch": "PyTorch F",
}
PASS_ORDER = ("fwd", "bwd", "fwd+bwd", "check")
CHECKER_ORDER = ("engine-directional", "engine", "torch-fast", "torch-slow")
CHECKER_NAMES = {
    "engine-directional": "gradcheck.check (directional)",
    "engine": "gradcheck.check (fast)",
    "torch-fast": "torch gradcheck fast_mode=True",
    "torch-slow": "torch gradcheck fast_mode=False",
}
LAYER_ORDER = ("linear", "relu", "softmax", "batchnorm", "layernorm", "conv2d", "maxpool2d")


@dataclass(frozen=True)
class Record:
    """One benchmark: where it belongs (from ``extra_info``) and its timing statistics in seconds."""

    name: str
    kind: str
    layer: str
    impl: str
    pass_: str
    size: tuple[tuple[str, int], ...]
    size_label: str
    size_n: float
    size_axis: str
    dtype: str
    device: str
    median: float
    iqr: float
    stddev: float
    rounds: int
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def noise(self) -> float:
        """IQR / median (0 when the median is 0)."""
        return self.iqr / self.median if self.median > 0 else 0.0

    @property
    def noisy(self) -> bool:
        return self.noise > NOISY

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies this measurement across runs (used by ``--compare``)."""
        if self.kind == "other":
            return ("other", self.name)
        return (self.kind, self.layer, self.size_label, self.dtype, self.device, self.pass_, self.impl)

    @property
    def label(self) -> str:
        if self.kind == "other":
            return self.name
        return f"{self.layer} · {self.size_label} · {self.dtype} · {self.device} · {self.pass_} · {self.impl}"


@dataclass(frozen=True)
class Results:
    """A loaded pytest-benchmark JSON file."""

    path: str
    machine_info: Mapping[str, Any]
    datetime: str
    version: str
    records: tuple[Record, ...]
    commit: Mapping[str, Any] = field(default_factory=dict)
    timers: tuple[str, ...] = ()


def _fail(path: str | Path, why: str) -> InvalidArgument:
    return InvalidArgument(f"{path}: {why}")


def _record(bench: Mapping[str, Any]) -> Record:
    stats = bench["stats"]
    extra: Mapping[str, Any] = bench.get("extra_info") or {}
    kind = str(extra.get("kind", "other"))
    size = extra.get("size") or {}
    if kind == "checking":
        impl, pass_ = str(extra.get("checker", "?")), "check"
    else:
        impl, pass_ = str(extra.get("impl", "?")), str(extra.get("pass", "?"))
    return Record(
        name=str(bench.get("name") or bench.get("fullname")),
        kind=kind,
        layer=str(extra.get("layer", bench.get("group") or "")),
        impl=impl,
        pass_=pass_,
        size=tuple(sorted((str(k), int(v)) for k, v in dict(size).items())),
        size_label=str(extra.get("size_label", "")),
        size_n=float(extra.get("size_n", 0) or 0),
        size_axis=str(extra.get("size_axis", "size")),
        dtype=str(extra.get("dtype", "")),
        device=str(extra.get("device", "")),
        median=float(stats["median"]),
        iqr=float(stats.get("iqr", 0.0) or 0.0),
        stddev=float(stats.get("stddev", 0.0) or 0.0),
        rounds=int(stats.get("rounds", 0) or 0),
        extra=dict(extra),
    )


def load_results(path: str | Path) -> Results:
    """Load a ``--benchmark-json`` file into :class:`Results`.

    Each benchmark's ``extra_info`` (written by ``benchmarks/``) says what it measured: ``kind``
    (``kernel`` or ``checking``), ``layer``, ``impl`` or ``checker``, ``pass``, ``size``, ``dtype``,
    ``device``. A benchmark without it is kept as kind ``other`` and listed by name.

    Args:
        path: the JSON file pytest-benchmark wrote.

    Returns:
        The machine info, date, timers and one :class:`Record` per benchmark (times in seconds).

    Raises:
        InvalidArgument: the file is missing, is not JSON, or is not pytest-benchmark output (one line).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except OSError as exc:
        raise _fail(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    expected = "expected pytest-benchmark output (--benchmark-json) with 'machine_info' and 'benchmarks'"
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise _fail(path, f"not pytest-benchmark JSON: {expected}")
    records = []
    for i, bench in enumerate(data["benchmarks"]):
        try:
            records.append(_record(bench))
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(path, f"benchmark {i} is malformed ({type(exc).__name__}: {exc}); {expected}") from None
    commit = data.get("commit_info") if isinstance(data.get("commit_info"), dict) else {}
    timers = sorted({str((b.get("options") or {}).get("timer")) for b in data["benchmarks"] if b.get("options")})
    return Results(
        path=str(path),
        machine_info=data.get("machine_info") or {},
        datetime=str(data.get("datetime", "")),
        version=str(data.get("version", "")),
        records=tuple(records),
        commit=commit or {},
        timers=tuple(timers),
    )


# ---------------------------------------------------------------- formatting


def fmt_cell(r: Record) -> str:
    """``median ±IQR/median``, flagged when noisy."""
    cell = f"{fmt_time(r.median)} ±{r.noise:.0%}"
    return f"{cell} {NOISY_MARK}" if r.noisy else cell


def ratio(num: Record, den: Record) -> float:
    return num.median / den.median if den.median > 0 else math.inf


def fmt_ratio(value: float, *noisy: bool) -> str:
    text = f"{value:.2f}×" if math.isfinite(value) else "—"
    return f"{text} {NOISY_MARK}" if any(noisy) else text


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {v: i for i, v in enumerate(order)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(order)), v))


# ---------------------------------------------------------------- kernel tables


@dataclass(frozen=True)
class Row:
    """One row of a layer table: the medians of every implementation for one size, dtype, device and pass."""

    size_label: str
    size_n: float
    dtype: str
    device: str
    pass_: str
    cells: Mapping[str, Record]


def kernel_rows(records: Iterable[Record], layer: str) -> list[Row]:
    """The rows of ``layer``'s table, ordered by device, dtype, size and pass."""
    groups: dict[tuple[str, str, str, str], dict[str, Record]] = {}
    sizes: dict[str, float] = {}
    for r in records:
        if r.kind == "kernel" and r.layer == layer:
            groups.setdefault((r.size_label, r.dtype, r.device, r.pass_), {})[r.impl] = r
            sizes[r.size_label] = r.size_n
    devices = {"cpu": 0, "cuda": 1}
    passes = {p: i for i, p in enumerate(PASS_ORDER)}
    keys = sorted(groups, key=lambda k: (devices.get(k[2], 2), k[2], k[1], sizes[k[0]], k[0], passes.get(k[3], 9)))
    return [Row(k[0], sizes[k[0]], k[1], k[2], k[3], groups[k]) for k in keys]


def layer_table(records: Sequence[Record], layer: str) -> list[str]:
    rows = kernel_rows(records, layer)
    impls = _ordered((i for row in rows for i in row.cells), IMPL_ORDER)
    others = [i for i in impls if i != REFERENCE]
    with_ref = REFERENCE in impls
    header = ["size", "dtype", "device", "pass", *(IMPL_NAMES.get(i, i) for i in impls)]
    if with_ref:
        header += [f"{IMPL_NAMES.get(i, i)} / PyTorch" for i in others]
    body = []
    for row in rows:
        cells = [row.size_label, row.dtype, row.device, row.pass_]
        cells += [fmt_cell(row.cells[i]) if i in row.cells else "—" for i in impls]
        if with_ref:
            ref = row.cells.get(REFERENCE)
            for i in others:
                r = row.cells.get(i)
                cells.append("—" if r is None or ref is None else fmt_ratio(ratio(r, ref), r.noisy, ref.noisy))
        body.append(cells)
    return _table(header, body, ["l"] * 4 + ["r"] * (len(header) - 4))


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A target: the layer (``impl``) against its reference (``ref``), at most ``bound`` times the reference.

    ``measure`` is ``"time"`` (forward + backward, interleaved rounds, kind ``ratio`` in the JSON) or
    ``"memory"`` (peak bytes, kind ``memory``); ``strict`` asks for strictly below the bound.
    """

    id: str
    label: str
    impl: str
    ref: str
    bound: float
    measure: str = "time"
    dtype: str = "float32"
    device: str = "cpu"
    strict: bool = False


_BN = "B=256, D=4096"
_CONV = "N=32, C=32, 32×32, 64 out, 3×3, pad 1"

TARGETS: tuple[Target, ...] = (
    Target("conv2d_function", f"Conv2d Function fwd+bwd ≤ 1.5× F.conv2d ({_CONV})", "Conv2dFunction",
           "F.conv2d", 1.5),
    Target("layernorm_function", f"LayerNorm Function fwd+bwd ≤ 1.5× F.layer_norm ({_BN})",
           "CustomLayerNormManualFunction", "F.layer_norm", 1.5),
    Target("batchnorm_function", f"BatchNorm Function fwd+bwd ≤ 1.3× F.batch_norm ({_BN})",
           "CustomBatchNormManualFunction", "F.batch_norm", 1.3),
    Target("batchnorm_function_vs_autograd", f"BatchNorm Function fwd+bwd faster than autograd-composed ({_BN})",
           "CustomBatchNormManualFunction", "CustomBatchNormAutograd", 1.0, strict=True),
    Target("numpy_batchnorm", f"NumPy BatchNorm fwd+bwd ≤ 1.5× F.batch_norm ({_BN})", "BatchNormModule",
           "F.batch_norm", 1.5),
    Target("numpy_conv2d", f"NumPy Conv2d fwd+bwd ≤ 1.5× F.conv2d ({_CONV})", "Conv2dModule", "F.conv2d", 1.5),
    Target("numpy_conv2d_memory", f"NumPy Conv2d peak memory (fwd+bwd) ≤ 2× F.conv2d's ({_CONV})",
           "Conv2dModule", "F.conv2d", 2.0, measure="memory"),
    Target("numpy_linear", "NumPy Linear fwd+bwd ≤ 1.2× F.linear (B=256, 1024→1024)", "LinearModule", "F.linear",
           1.2),
    Target("numpy_maxpool2d", "NumPy MaxPool2d (3×3, s2, p1) fwd+bwd ≤ 3× F.max_pool2d on (32, 64, 32, 32)",
           "MaxPool2dModule", "F.max_pool2d", 3.0),
    Target("batchnorm_function_cuda", f"BatchNorm Function fwd+bwd on CUDA ≤ 1.5× F.batch_norm ({_BN})",
           "CustomBatchNormManualFunction", "F.batch_norm", 1.5, device="cuda"),
    Target("checking_batchnorm", "gradcheck.check(mode='fast', 4 directions) of batch norm ≤ 1× torch "
           "gradcheck(fast_mode=True) (B=256, D=512)", "gradcheck.check", "torch.autograd.gradcheck", 1.0,
           dtype="float64"),
    Target("convnet_training_step", "ConvNet training step with custom Functions ≤ 1.5× with torch layers "
           "(digits, batch 32, Adam)", "ConvNet(use_custom=True)", "ConvNet(use_custom=False)", 1.5),
)  # fmt: skip


def target_by_id(target_id: str) -> Target:
    """The target named ``target_id``; raises KeyError naming the known ids otherwise."""
    for t in TARGETS:
        if t.id == target_id:
            return t
    raise KeyError(f"unknown target {target_id!r}; known: {', '.join(t.id for t in TARGETS)}")


@dataclass(frozen=True)
class TargetResult:
    """A target with its summary (``None`` when not measured, with the reason) and verdict.

    ``impl_units`` / ``ref_units`` are each side's median cost in units of the measured unit of work
    (``unit_label``), when the benchmark timed one.
    """

    target: Target
    summary: RatioSummary | None
    reason: str = ""
    impl_median: float | None = None
    ref_median: float | None = None
    impl_units: float | None = None
    ref_units: float | None = None
    unit_label: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ratio(self) -> float | None:
        return None if self.summary is None else self.summary.median

    @property
    def status(self) -> str:
        """``met``, ``not met``, ``inconclusive`` or ``not measured``."""
        if self.summary is None:
            return "not measured"
        return verdict(self.summary, self.target.bound, strict=self.target.strict)


def _find(records: Iterable[Record], target: Target) -> Record | None:
    kind = "ratio" if target.measure == "time" else "memory"
    return next((r for r in records if r.kind == kind and r.extra.get("target") == target.id), None)


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values] if isinstance(values, list | tuple) else []


def _per_unit(times: list[float], units: list[float]) -> float | None:
    if not units or len(units) != len(times) or min(units) <= 0:
        return None
    return statistics.median(t / u for t, u in zip(times, units, strict=True))


def evaluate_target(records: Sequence[Record], target: Target) -> TargetResult:
    """The summary of ``target``'s interleaved rounds (or memory runs) in ``records``, or why there is none.

    Example:
        15 rounds whose ratios are all 1.2 give median 1.2, interval [1.2, 1.2] and ``status == "met"`` for a
        bound of 1.5; with 10 rounds the status is ``"not measured"`` (fewer than 15 rounds).
    """
    rec = _find(records, target)
    if rec is None:
        return TargetResult(target, None, "no interleaved benchmark for it in this file")
    if rec.extra.get("reason"):
        return TargetResult(target, None, str(rec.extra["reason"]))
    memory = target.measure == "memory"
    impl = _floats(rec.extra.get("impl_peaks" if memory else "impl_times"))
    ref = _floats(rec.extra.get("ref_peaks" if memory else "ref_times"))
    if not impl or len(impl) != len(ref) or min(ref) <= 0:
        return TargetResult(target, None, "the record has no paired measurements")
    if not memory and len(impl) < MIN_ROUNDS:
        return TargetResult(target, None, f"only {len(impl)} rounds (at least {MIN_ROUNDS} are needed)")
    units = _floats(rec.extra.get("unit_times"))
    return TargetResult(
        target,
        summarize_ratio(impl, ref),
        impl_median=statistics.median(impl),
        ref_median=statistics.median(ref),
        impl_units=_per_unit(impl, units),
        ref_units=_per_unit(ref, units),
        unit_label=str(rec.extra.get("unit_label", "")),
        extra=dict(rec.extra),
    )


def evaluate_targets(records: Sequence[Record], targets: Sequence[Target] = TARGETS) -> list[TargetResult]:
    """:func:`evaluate_target` for each of ``targets``, in order."""
    return [evaluate_target(records, t) for t in targets]


def _fmt_side(value: float | None, memory: bool) -> str:
    if value is None:
        return "—"
    return fmt_bytes(value) if memory else fmt_time(value)


def targets_table(results: Sequence[TargetResult]) -> list[str]:
    """One row per target: bound, median ratio with its 95 % interval and rounds, both sides, verdict."""
    body = []
    marks = {"met": "✅ met", "not met": "❌ not met", "inconclusive": "❔ inconclusive"}
    for res in results:
        t, s = res.target, res.summary
        memory = t.measure == "memory"
        bound = f"{'<' if t.strict else '≤'} {t.bound:g}×"
        if s is None:
            measured, interval, rounds = "—", "—", "—"
        else:
            measured, interval, rounds = f"{s.median:.2f}×", f"[{s.low:.2f}, {s.high:.2f}]", str(s.rounds)
        body.append(
            [
                t.label,
                f"{t.dtype}, {t.device}",
                bound,
                measured,
                interval,
                rounds,
                _fmt_side(res.impl_median, memory),
                _fmt_side(res.ref_median, memory),
                marks.get(res.status, res.status),
                res.reason,
            ]
        )
    header = ["target", "dtype, device", "bound", "median ratio", "95 % interval", "rounds", "layer", "reference"]
    return _table([*header, "verdict", "note"], body, ["l", "l", "l", "r", "r", "r", "r", "r", "l", "l"])


# ---------------------------------------------------------------- cost of checking


def checking_table(records: Sequence[Record]) -> list[str]:
    """One row per checked function, size and checker: time, evaluations, verdict, ratio to torch fast."""
    checks = [r for r in records if r.kind == "checking"]
    fast = {(r.layer, r.size, r.dtype, r.device): r for r in checks if r.impl == "torch-fast"}
    rank = {c: i for i, c in enumerate(CHECKER_ORDER)}
    body = []
    for r in sorted(checks, key=lambda r: (r.layer, r.dtype, r.device, r.size_n, r.size, rank.get(r.impl, 9))):
        ref = fast.get((r.layer, r.size, r.dtype, r.device))
        passed = r.extra.get("passed")
        n_dir = r.extra.get("n_directions")
        body.append(
            [
                r.layer,
                r.size_label,
                r.dtype + ("" if r.device in ("cpu", "") else f", {r.device}"),
                CHECKER_NAMES.get(r.impl, r.impl) + (f", {n_dir} directions" if n_dir else ""),
                fmt_cell(r),
                str(r.extra.get("n_forward", "?")),
                str(r.extra.get("n_evals", "?")) if r.impl.startswith("engine") else "—",
                "✓" if passed is True else "✗" if passed is False else "?",
                _in_calls(r),
                "—" if ref is None else fmt_ratio(ratio(r, ref), r.noisy, ref.noisy),
            ]
        )
    header = ["function", "size", "dtype", "checker", "time", "forward calls", "FD evals", "passed"]
    return _table([*header, "÷ one fwd+bwd", "÷ torch fast"], body, ["l"] * 4 + ["r"] * 6)


def _in_calls(r: Record) -> str:
    """The check's median time in units of one forward + backward of the checked function at that size."""
    call = r.extra.get("call_seconds")
    return f"{r.median / float(call):.0f}" if isinstance(call, int | float) and call > 0 else "—"


# ---------------------------------------------------------------- compare


def compare_table(before: Sequence[Record], after: Sequence[Record]) -> list[str]:
    """Medians before and after, matched by :attr:`Record.key`, with the change in percent."""
    old = {r.key: r for r in before}
    new = {r.key: r for r in after}
    body = []
    for key in [k for k in new if k in old]:
        a, b = old[key], new[key]
        change = (b.median - a.median) / a.median if a.median > 0 else math.inf
        mark = f" {NOISY_MARK}" if a.noisy or b.noisy else ""
        body.append([b.label, fmt_cell(a), fmt_cell(b), f"{change:+.1%}{mark}"])
    lines = _table(["benchmark", "before", "after", "change"], body, ["l", "r", "r", "r"])
    only_old = [old[k].label for k in old if k not in new]
    only_new = [new[k].label for k in new if k not in old]
    if only_old:
        lines += ["", f"Only in the baseline ({len(only_old)}): " + "; ".join(only_old)]
    if only_new:
        lines += ["", f"Only in this run ({len(only_new)}): " + "; ".join(only_new)]
    return lines


# ---------------------------------------------------------------- the document


def _layers(records: Iterable[Record]) -> list[str]:
    return _ordered((r.layer for r in records if r.kind == "kernel"), LAYER_ORDER)


def _threads(records: Iterable[Record]) -> str:
    torch_n = sorted({str(r.extra.get("torch_threads")) for r in records if "torch_threads" in r.extra})
    blas_n = sorted({str(r.extra.get("blas_threads")) for r in records if "blas_threads" in r.extra})
    if not torch_n and not blas_n:
        return "thread counts not recorded"
    return f"{'/'.join(torch_n) or '?'} torch thread(s) and {'/'.join(blas_n) or '?'} BLAS thread(s)"


def render_markdown(
    results: Results,
    *,
    title: str = "Benchmarks",
    figures: Mapping[str, str] | None = None,
    before: Results | None = None,
    extra_notes: str = "",
) -> str:
    """The report as Markdown: machine, targets, optional before/after table, one table per layer, checking,
    and Notes written from the data (plus ``extra_notes``, Markdown given by the user, at their end).

    Args:
        results: this run.
        title: the first heading.
        figures: a layer (or ``"checking"``) → PNG path relative to the Markdown file.
        before: a baseline run; adds a table of medians before and after with the change in percent.
    """
    figures = figures or {}
    records = results.records
    out = [f"# {title}", ""]
    out += [
        "Generated by `python -m gradcheck.benchreport` from pytest-benchmark results "
        f"`{Path(results.path).name}` ({results.datetime or 'date not recorded'}). Times are medians of "
        "the rounds, `±` the interquartile range as a fraction of the median; "
        f"{NOISY_MARK} marks a noisy cell (IQR / median > {NOISY:.0%}) and a ratio computed from one. "
        "In the per-layer tables a ratio is a ratio of two such medians, taken minutes apart, so it moves with the "
        "load of the machine; the targets are measured differently (below). Implementations: NumPy module "
        "(`layers`), torch Function (this project's `torch.autograd.Function`), autograd-composed (this "
        "project's module built from torch ops), PyTorch F (`torch.nn.functional`, the reference). Passes: "
        "`fwd` (forward with inputs that require grad), `bwd` (backward only, on one stored forward), `fwd+bwd`.",
        "",
        "Reproduce: `tox -e bench` (the quick set; it writes `out/benchmarks.md` and `out/figures/`), or "
        "`pytest benchmarks --bench-quick -p no:cacheprovider --benchmark-json=out/bench.json` then "
        "`python -m gradcheck.benchreport out/bench.json` (writes to `out/`; `--update-docs` writes `docs/`). "
        "Without `--bench-quick` every size and 31 rounds per target; `--bench-threads N` for N torch and BLAS "
        "threads, default 1; `--compare BEFORE.json` for a before/after table.",
        "",
        "## Machine",
        "",
    ]
    rows = machine.describe(results.machine_info)
    if results.timers:
        rows.append(("timer (pytest-benchmark)", ", ".join(results.timers)))
    out += _table(["", ""], rows)
    out += ["", "## Targets", ""]
    kernels = [r for r in records if r.kind == "kernel"]
    checks = [r for r in records if r.kind == "checking"]
    target_results = evaluate_targets(records)
    out += [
        "Each time target is measured by interleaving: the layer and its reference alternate in one process, "
        "forward and backward with every gradient, for at least 15 rounds (each side of a round runs for at "
        "least 20 ms); a round's ratio is one sample, the table gives the median and its bootstrap 95 % interval. "
        "**met**: the interval is at or below the bound; **not met**: above it; **inconclusive**: it contains "
        f"the bound. Float32 on the CPU unless stated, with {_threads(records)}. The memory target compares "
        "peak resident memory of one forward + backward, each side in fresh processes.",
        "",
    ]
    out += targets_table(target_results)
    if before is not None:
        out += ["", f"## Compared with `{Path(before.path).name}`", ""]
        out += [
            f"Baseline from {before.datetime or 'an unknown date'}; change = (after − before) / before of "
            "the medians; negative is faster.",
            "",
        ]
        out += compare_table(before.records, records)
    for layer in _layers(records):
        out += ["", f"## {layer}", ""]
        if layer in figures:
            out += [f"![{layer}: time against size]({figures[layer]})", ""]
        out += layer_table(kernels, layer)
    if checks:
        out += ["", "## Cost of checking", ""]
        out += [
            "The same function and inputs checked by this project's engine (`gradcheck.check`, `mode='fast'` "
            "and `mode='directional'`, 4 directions) and by `torch.autograd.gradcheck` in fast and slow mode, as "
            "the checked batch norm grows from 10² to 10⁶ input elements (float64). `forward calls` counts calls "
            "of the Function's forward during one check, for every checker alike (analytic side included); "
            "`FD evals` is the engine's own count of finite-difference evaluations (`report.n_evals`); "
            "`÷ one fwd+bwd` is the check's time in units of one forward + backward of the function at that "
            "size. A cost independent of n shows as constant forward calls and a constant `÷ one fwd+bwd`.",
            "",
        ]
        if "checking" in figures:
            out += [f"![cost of checking]({figures['checking']})", ""]
        out += checking_table(checks)
    lists = [r for r in records if r.kind == "checklist"]
    if lists:
        out += ["", "## Checklist speed", ""]
        out += [
            "The whole property checklist (`gradcheck.check_kind`, profile `ci`) on each built-in target, and "
            "`gradcheck check --all`; budget from the issue: one kind ≤ 10 s median, `--all` ≤ 3 min.",
            "",
        ]
        out += _table(
            ["target", "median", "rounds", "budget", "within"],
            (
                [
                    str(r.extra.get("target", r.layer)),
                    f"{r.median:.2f} s",
                    str(r.rounds),
                    f"{float(r.extra.get('budget_s', 0)):.0f} s",
                    "yes" if r.median <= float(r.extra.get("budget_s", float("inf"))) else "**no**",
                ]
                for r in lists
            ),
            ["l", "r", "r", "r", "l"],
        )
    others = [r for r in records if r.kind not in ("kernel", "checking", "checklist", "ratio", "memory")]
    if others:
        out += ["", "## Other benchmarks", ""]
        out += _table(
            ["benchmark", "median", "rounds"],
            ([r.name, fmt_cell(r), str(r.rounds)] for r in others),
            ["l", "r", "r"],
        )
    out += ["", "## Notes", "", *render_notes(results, target_results)]
    if extra_notes.strip():
        out += ["", extra_notes.strip()]
    return "\n".join(out) + "\n"
