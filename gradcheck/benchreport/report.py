"""Read pytest-benchmark JSON into records, evaluate the targets, render the Markdown report.

Everything here is a pure function of the loaded records: tables, ratios and targets are data
(:class:`Row`, :class:`TargetResult`) first and Markdown second. Ratios are ratios of medians from the same
run (one pytest-benchmark group per layer, size, dtype and device); a cell is *noisy* when its interquartile
range exceeds :data:`NOISY` of its median.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradcheck.benchreport import machine
from gradcheck.errors import InvalidArgument

__all__ = [
    "NOISY",
    "TARGETS",
    "Record",
    "Results",
    "Target",
    "TargetResult",
    "evaluate_targets",
    "load_results",
    "render_markdown",
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
CHECKER_ORDER = ("engine", "torch-fast", "torch-slow")
CHECKER_NAMES = {
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


def fmt_time(seconds: float) -> str:
    """Three significant digits in ns, µs, ms or s."""
    if not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


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
    """A target: the ratio ``impl`` / ``ref`` (medians, one run) at most ``max_ratio`` (below: strict)."""

    label: str
    kind: str
    layer: str
    size: tuple[tuple[str, int], ...]
    dtype: str
    device: str
    pass_: str
    impl: str
    ref: str
    max_ratio: float
    strict: bool = False

    def find(self, records: Iterable[Record], impl: str) -> Record | None:
        for r in records:
            if (r.kind, r.layer, r.size, r.dtype, r.device, r.pass_, r.impl) == (
                self.kind,
                self.layer,
                self.size,
                self.dtype,
                self.device,
                self.pass_,
                impl,
            ):
                return r
        return None


@dataclass(frozen=True)
class TargetResult:
    """A target with its measured ratio (None when either side was not measured)."""

    target: Target
    ratio: float | None
    noisy: bool
    reason: str = ""

    @property
    def status(self) -> str:
        if self.ratio is None:
            return "not measured"
        ok = self.ratio < self.target.max_ratio if self.target.strict else self.ratio <= self.target.max_ratio
        return "met" if ok else "not met"


def _size(**dims: int) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(dims.items()))


_LINEAR = _size(B=256, **{"in": 1024, "out": 1024})
_BN = _size(B=256, D=4096)
_CONV = _size(N=32, C=32, H=32, O=64)
_POOL = _size(N=32, C=64, H=32)

TARGETS: tuple[Target, ...] = (
    Target("NumPy Linear fwd+bwd ≤ 1.2× PyTorch (B=256, 1024→1024)", "kernel", "linear", _LINEAR,
           "float32", "cpu", "fwd+bwd", "numpy", "torch", 1.2),
    Target("NumPy BatchNorm fwd+bwd ≤ 1.5× PyTorch (B=256, D=4096)", "kernel", "batchnorm", _BN,
           "float32", "cpu", "fwd+bwd", "numpy", "torch", 1.5),
    Target("NumPy Conv2d fwd+bwd ≤ 2× PyTorch (N=32, C=32, 32×32, 64 out, 3×3, pad 1)", "kernel", "conv2d",
           _CONV, "float32", "cpu", "fwd+bwd", "numpy", "torch", 2.0),
    Target("NumPy MaxPool2d (3×3, s2, p1) fwd+bwd ≤ 3× PyTorch on (32, 64, 32, 32)", "kernel", "maxpool2d",
           _POOL, "float32", "cpu", "fwd+bwd", "numpy", "torch", 3.0),
    Target("batch-norm Function fwd+bwd ≤ 1.3× F.batch_norm (B=256, D=4096)", "kernel", "batchnorm", _BN,
           "float32", "cpu", "fwd+bwd", "function", "torch", 1.3),
    Target("batch-norm Function fwd+bwd faster than the autograd-composed version (B=256, D=4096)", "kernel",
           "batchnorm", _BN, "float32", "cpu", "fwd+bwd", "function", "autograd", 1.0, strict=True),
    Target("batch-norm Function fwd+bwd on CUDA ≤ 1.5× F.batch_norm (B=256, D=4096)", "kernel", "batchnorm",
           _BN, "float32", "cuda", "fwd+bwd", "function", "torch", 1.5),
    Target("engine's check of batch norm ≤ 1× torch gradcheck(fast_mode=True) (B=256, D=512, float64)",
           "checking", "batchnorm", _size(B=256, D=512), "float64", "cpu", "check", "engine", "torch-fast",
           1.0),
)  # fmt: skip


def evaluate_targets(records: Sequence[Record], targets: Sequence[Target] = TARGETS) -> list[TargetResult]:
    """Each target's ratio of medians (same run), or why it could not be evaluated.

    Example:
        NumPy Linear at 1.1 ms against PyTorch at 1.0 ms gives ratio 1.1, ``status == "met"`` (bound 1.2);
        at 1.3 ms it is ``"not met"``; with no NumPy benchmark of that size it is ``"not measured"``.
    """
    results = []
    for t in targets:
        num, den = t.find(records, t.impl), t.find(records, t.ref)
        if num is None or den is None:
            missing = " and ".join(n for n, r in ((t.impl, num), (t.ref, den)) if r is None)
            results.append(TargetResult(t, None, False, f"no benchmark for {missing}"))
            continue
        why = ""
        if t.kind == "checking":
            n_dir = num.extra.get("n_directions")
            if isinstance(n_dir, int) and n_dir < 4:
                why = f"only {n_dir} directions (the target asks for ≥ 4)"
        results.append(TargetResult(t, ratio(num, den), num.noisy or den.noisy, why))
    return results


def targets_table(results: Sequence[TargetResult]) -> list[str]:
    body = []
    for res in results:
        t = res.target
        bound = f"{'<' if t.strict else '≤'} {t.max_ratio:g}×"
        measured = fmt_ratio(res.ratio, res.noisy) if res.ratio is not None else "—"
        status = {"met": "✅ met", "not met": "❌ not met"}.get(res.status, res.status)
        body.append([t.label, f"{t.dtype}, {t.device}", bound, measured, status, res.reason])
    return _table(["target", "dtype, device", "bound", "measured", "status", "note"], body)


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
                str(r.extra.get("n_evals", "?")) if r.impl == "engine" else "—",
                "✓" if passed is True else "✗" if passed is False else "?",
                "—" if ref is None else fmt_ratio(ratio(r, ref), r.noisy, ref.noisy),
            ]
        )
    header = ["function", "size", "dtype", "checker", "time", "forward calls", "FD evals", "passed"]
    return _table([*header, "÷ torch fast"], body, ["l"] * 4 + ["r"] * 5)


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
) -> str:
    """The report as Markdown: machine, targets, optional before/after table, one table per layer, checking.

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
        "Ratios are ratios of medians from the same run. Implementations: NumPy module (`layers`), torch "
        "Function (this project's `torch.autograd.Function`), autograd-composed (this project's module built "
        "from torch ops), PyTorch F (`torch.nn.functional`, the reference). Passes: `fwd` (forward with "
        "inputs that require grad), `bwd` (backward only, on one stored forward), `fwd+bwd`.",
        "",
        "Reproduce: `pytest benchmarks --bench-quick -p no:cacheprovider --benchmark-json=out/bench.json`, "
        "then `python -m gradcheck.benchreport out/bench.json --out docs` (without `--bench-quick` for every "
        "size; `--bench-threads N` for N torch and BLAS threads, default 1; "
        "`--compare BEFORE.json` for a before/after table).",
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
    if kernels or checks:
        out += [
            "Ratios of medians from this run; the NumPy and batch-norm targets are evaluated in float32, the "
            f"dtype of training, with {_threads(records)}.",
            "",
        ]
        out += targets_table(evaluate_targets(records))
    else:
        out += ["No kernel or checking benchmarks in this file."]
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
            "The same function and inputs checked by this project's engine (`gradcheck.check`, "
            "`mode='fast'`, 4 directions) and by `torch.autograd.gradcheck` in fast and slow mode. `forward calls` "
            "counts calls of the Function's forward during one check, for every checker alike (analytic side "
            "included); `FD evals` is the engine's own count of finite-difference evaluations "
            "(`report.n_evals`).",
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
    others = [r for r in records if r.kind not in ("kernel", "checking", "checklist")]
    if others:
        out += ["", "## Other benchmarks", ""]
        out += _table(
            ["benchmark", "median", "rounds"],
            ([r.name, fmt_cell(r), str(r.rounds)] for r in others),
            ["l", "r", "r"],
        )
    return "\n".join(out) + "\n"
