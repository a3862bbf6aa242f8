"""The report renderer on synthetic pytest-benchmark JSON: tables, ratios, noise flags, targets, compare."""

from __future__ import annotations

import math

import pytest

from gradcheck.benchreport import machine
from gradcheck.benchreport.report import (
    NOISY_MARK,
    TARGETS,
    evaluate_targets,
    fmt_time,
    kernel_rows,
    load_results,
    render_markdown,
)
from gradcheck.errors import InvalidArgument

LINEAR = {"B": 256, "in": 1024, "out": 1024}
BN = {"B": 256, "D": 4096}


def _line(md: str, *needles: str) -> str:
    """The one Markdown line that contains every needle."""
    hits = [line for line in md.splitlines() if all(n in line for n in needles)]
    assert len(hits) == 1, (needles, hits)
    return hits[0]


def test_layer_table_has_one_column_per_implementation_and_ratios_to_pytorch(synth, write_json):
    benches = [
        synth.kernel("linear", "numpy", "fwd+bwd", LINEAR, 3e-3, label="B=256, 1024→1024"),
        synth.kernel("linear", "function", "fwd+bwd", LINEAR, 1.5e-3, label="B=256, 1024→1024"),
        synth.kernel("linear", "torch", "fwd+bwd", LINEAR, 1e-3, label="B=256, 1024→1024"),
    ]
    md = render_markdown(load_results(write_json(synth.document(benches))))
    header = _line(md, "| size | dtype | device | pass |")
    assert "NumPy module" in header and "torch Function" in header and "PyTorch F" in header
    assert "NumPy module / PyTorch" in header
    assert "| timer (pytest-benchmark) | time.process_time |" in md
    row = _line(md, "| B=256, 1024→1024 | float32 | cpu | fwd+bwd |")
    assert "3 ms ±5%" in row and "1.5 ms" in row and "1 ms" in row
    assert "3.00×" in row and "1.50×" in row
    assert NOISY_MARK not in row


def test_rows_are_ordered_by_device_dtype_size_and_pass(synth, write_json):
    small, big = {"B": 2, "D": 3}, {"B": 20, "D": 30}
    benches = [
        synth.kernel("relu", "torch", p, s, 1e-3, dtype=d, device=dev)
        for dev in ("cuda", "cpu")
        for d in ("float64", "float32")
        for s in (big, small)
        for p in ("fwd+bwd", "bwd", "fwd")
    ]
    rows = kernel_rows(load_results(write_json(synth.document(benches))).records, "relu")
    keys = [(r.device, r.dtype, r.size_n, r.pass_) for r in rows]
    assert keys[:3] == [
        ("cpu", "float32", 6, "fwd"),
        ("cpu", "float32", 6, "bwd"),
        ("cpu", "float32", 6, "fwd+bwd"),
    ]
    assert keys[-1] == ("cuda", "float64", 600, "fwd+bwd")
    assert len(keys) == 24


@pytest.mark.parametrize(("iqr_frac", "flagged"), [(0.1, False), (0.2, False), (0.35, True)])
def test_noisy_cells_and_their_ratios_are_flagged(synth, write_json, iqr_frac, flagged):
    benches = [
        synth.kernel("relu", "numpy", "fwd", {"B": 4, "D": 8}, 2e-6, iqr_frac=iqr_frac),
        synth.kernel("relu", "torch", "fwd", {"B": 4, "D": 8}, 1e-6),
    ]
    md = render_markdown(load_results(write_json(synth.document(benches))))
    row = _line(md, "B=4, D=8", "| fwd |")
    assert ("2 µs" in row) and ("2.00×" in row)
    assert (row.count(NOISY_MARK) == 2) is flagged  # the numpy cell and the ratio computed from it
    assert (NOISY_MARK in row) is flagged


def _rounds(ratios: list[float]) -> tuple[list[float], list[float]]:
    """Round times whose per-round ratios are ``ratios`` (the reference's time varies, as under load)."""
    ref = [1e-3 * (1 + 0.5 * (i % 3)) for i in range(len(ratios))]
    return [r * t for r, t in zip(ratios, ref, strict=True)], ref


def test_targets_are_met_not_met_inconclusive_or_not_measured(synth, write_json):
    benches = [
        synth.ratio("numpy_linear", *_rounds([1.1] * 15)),  # interval [1.1, 1.1] ≤ 1.2: met
        synth.ratio("numpy_batchnorm", *_rounds([2.0] * 15)),  # > 1.5: not met
        synth.ratio("batchnorm_function", *_rounds([1.2, 1.4] * 8)),  # interval contains 1.3: inconclusive
        synth.ratio("batchnorm_function_vs_autograd", *_rounds([1.0] * 15)),  # strict: 1.0 is not < 1
        synth.ratio("numpy_conv2d", *_rounds([1.0] * 10)),  # too few rounds
        synth.ratio("batchnorm_function_cuda", [], [], reason="CUDA is not available"),
        synth.ratio("numpy_conv2d_memory", [16e6] * 5, [27e6] * 5, kind="memory"),
    ]
    records = load_results(write_json(synth.document(benches))).records
    results = {r.target.id: r for r in evaluate_targets(records)}
    assert len(results) == len(TARGETS)
    assert results["numpy_linear"].status == "met"
    assert results["numpy_linear"].summary.median == pytest.approx(1.1)
    assert results["numpy_batchnorm"].status == "not met"
    bn = results["batchnorm_function"]
    assert bn.status == "inconclusive" and bn.summary.low < 1.3 < bn.summary.high
    assert results["batchnorm_function_vs_autograd"].status == "not met"
    assert results["numpy_conv2d"].status == "not measured" and "10 rounds" in results["numpy_conv2d"].reason
    assert results["batchnorm_function_cuda"].reason == "CUDA is not available"
    assert results["numpy_conv2d_memory"].status == "met"
    assert results["numpy_conv2d_memory"].ratio == pytest.approx(16 / 27)
    assert results["conv2d_function"].status == "not measured"
    md = render_markdown(load_results(write_json(synth.document(benches))))
    assert "❌ not met" in _line(md, "| NumPy BatchNorm fwd+bwd")
    assert "✅ met" in _line(md, "| NumPy Linear")
    assert "❔ inconclusive" in _line(md, "| BatchNorm Function fwd+bwd ≤ 1.3×")


def test_notes_are_written_from_the_data(synth, write_json):
    slow = _rounds([1.8] * 15)
    benches = [
        synth.ratio("numpy_batchnorm", *slow, unit_times=[t / 12 for t in slow[1]]),
        synth.ratio("numpy_linear", *_rounds([1.0] * 15)),
    ]
    md = render_markdown(load_results(write_json(synth.document(benches))))
    notes = md[md.index("## Notes") :]
    assert "not met — 1.80×" in notes and "20% over the bound ≤ 1.5×" in notes
    assert "the layer costs 21.6, F.batch_norm 12.0" in notes  # units of the measured pass
    assert "numpy_linear 1.00×" in notes
    faster = _rounds([1.2] * 15)
    md = render_markdown(load_results(write_json(synth.document([synth.ratio("numpy_batchnorm", *faster)]))))
    notes = md[md.index("## Notes") :]
    assert "numpy_batchnorm 1.20×" in notes and "**NumPy BatchNorm" not in notes  # met: no paragraph on it


def test_notes_give_the_floor_of_the_algorithm_in_measured_units(synth, write_json):
    impl, ref = _rounds([1.8] * 15)
    gemm = [t / 2.4 for t in ref]  # the reference costs 2.4 products, the layer 4.32
    conv = synth.ratio("numpy_conv2d", impl, ref, unit_times=gemm, unit_floor=3, unit_floor_why="three products")
    md = render_markdown(load_results(write_json(synth.document([conv]))))
    notes = md[md.index("## Notes") :]
    assert "the layer costs 4.3, F.conv2d 2.4" in notes
    assert "at least 3 units (three products): 1.25× the reference's whole forward + backward" in notes


def test_cost_of_checking_table_shows_time_evaluations_and_ratio(synth, write_json):
    size = {"B": 16, "D": 32}
    benches = [
        synth.checking("batchnorm", "engine", size, 0.004, 51, call_seconds=1e-4),
        synth.checking("batchnorm", "torch-fast", size, 0.002, 8, call_seconds=1e-4),
        synth.checking("batchnorm", "torch-slow", size, 0.5, 1154),  # no time of one call: "—"
    ]
    md = render_markdown(load_results(write_json(synth.document(benches))))
    assert "## Cost of checking" in md
    engine = _line(md, "| batchnorm | B=16, D=32 |", "gradcheck.check", "4 directions")
    assert engine.endswith("| 4 ms ±5% | 53 | 51 | ✓ | 40 | 2.00× |")
    fast = _line(md, "| batchnorm | B=16, D=32 |", "fast_mode=True")
    assert fast.endswith("| 2 ms ±5% | 10 | — | ✓ | 20 | 1.00× |")
    slow = _line(md, "| batchnorm | B=16, D=32 |", "fast_mode=False")
    assert slow.endswith("| 500 ms ±5% | 1156 | — | ✓ | — | 250.00× |")


def test_machine_section_renders_what_the_benchmark_session_recorded(synth, write_json):
    md = render_markdown(load_results(write_json(synth.document([]))), title="My title")
    assert md.startswith("# My title\n")
    assert "Test CPU 9000" in _line(md, "| CPU |")
    assert "2 physical / 4 logical" in md
    assert "scipy-openblas 0.3.31" in _line(md, "| NumPy BLAS |")
    assert "openblas 0.3.31 (blas, 2 threads, pthreads)" in md
    assert "| GPU | none |" in md
    assert "torch 2.13.0+cpu" in md and "gradcheck 0.1.0" in md and "Python 3.11.7" in md
    assert "no interleaved benchmark for it in this file" in md  # every target: not measured


def test_machine_info_without_our_record_falls_back_to_pytest_benchmark_fields():
    rows = dict(machine.describe({"cpu": {"brand_raw": "Plain CPU", "count": 8}, "python_version": "3.12.1"}))
    assert rows["CPU"] == "Plain CPU"
    assert rows["cores / threads"] == "not recorded physical / 8 logical"
    assert rows["GPU"] == "not recorded"
    assert "Python 3.12.1" in rows["versions"]


def test_machine_collect_describes_this_process():
    info = machine.collect(quick=False)
    assert info["logical_cpus"] and info["torch_threads"] >= 1 and info["quick"] is False
    rows = dict(machine.describe({"gradcheck": info}))
    assert rows["size selection"] == "full"


def test_compare_table_gives_the_change_in_percent(synth, write_json):
    size = {"B": 4, "D": 8}
    before = synth.document(
        [
            synth.kernel("relu", "numpy", "fwd", size, 2e-3),
            synth.kernel("relu", "torch", "fwd", size, 1e-3),
            synth.kernel("relu", "numpy", "bwd", size, 1e-3),
        ]
    )
    after = synth.document(
        [
            synth.kernel("relu", "numpy", "fwd", size, 1e-3),
            synth.kernel("relu", "torch", "fwd", size, 1.1e-3),
            synth.kernel("softmax", "numpy", "fwd", size, 1e-3),
        ]
    )
    md = render_markdown(
        load_results(write_json(after, "after.json")), before=load_results(write_json(before, "before.json"))
    )
    assert "## Compared with `before.json`" in md
    assert "-50.0%" in _line(md, "relu · B=4, D=8 · float32 · cpu · fwd · numpy")
    assert "+10.0%" in _line(md, "relu · B=4, D=8 · float32 · cpu · fwd · torch")
    assert "Only in the baseline (1): relu · B=4, D=8 · float32 · cpu · bwd · numpy" in md
    assert "Only in this run (1): softmax" in md


def test_benchmarks_without_our_extra_info_are_listed_as_other(synth, write_json):
    plain = synth.kernel("relu", "torch", "fwd", {"B": 1}, 1e-3)
    plain["extra_info"] = {}
    plain["name"] = "test_something"
    md = render_markdown(load_results(write_json(synth.document([plain]))))
    assert "## Other benchmarks" in md
    assert "1 ms" in _line(md, "| test_something |")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not pytest-benchmark JSON"),
        ('{"benchmarks": []}', "not pytest-benchmark JSON"),
        ('{"machine_info": {}, "benchmarks": [{"name": "x"}]}', "benchmark 0 is malformed"),
    ],
)
def test_bad_input_raises_one_line_invalid_argument(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidArgument, match=message) as info:
        load_results(path)
    assert "\n" not in str(info.value)
    with pytest.raises(InvalidArgument, match="no such file"):
        load_results(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (0.0123, "12.3 ms"), (4.56e-6, "4.56 µs"), (7e-9, "7 ns"), (math.inf, "—")],
)
def test_times_are_printed_with_three_significant_digits(seconds, text):
    assert fmt_time(seconds) == text
