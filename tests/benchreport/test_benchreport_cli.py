"""``bench-report`` end to end: files, plots, ``--compare``, exit status 2 with one line on bad input."""

from __future__ import annotations

from gradcheck.benchreport.cli import main


def _benches(synth):
    size = {"B": 16, "D": 32}
    big = {"B": 256, "D": 4096}
    return [
        synth.kernel("batchnorm", impl, "fwd+bwd", s, t * k)
        for s, k in ((size, 1.0), (big, 50.0))
        for impl, t in (("numpy", 2e-5), ("function", 1.2e-5), ("autograd", 1.5e-5), ("torch", 1e-5))
    ] + [
        synth.checking("batchnorm", "engine", {"B": 256, "D": 512}, 0.05, 51),
        synth.checking("batchnorm", "torch-fast", {"B": 256, "D": 512}, 0.1, 8),
    ]


def test_writes_markdown_and_png_figures(synth, write_json, tmp_path, capsys):
    results = write_json(synth.document(_benches(synth)))
    out = tmp_path / "docs"
    assert main([str(results), "--out", str(out), "--title", "Quick run"]) == 0
    md = (out / "benchmarks.md").read_text(encoding="utf-8")
    assert md.startswith("# Quick run")
    assert "![batchnorm: time against size](figures/bench_batchnorm.png)" in md
    assert "![cost of checking](figures/bench_checking.png)" in md
    for name in ("bench_batchnorm.png", "bench_checking.png"):
        assert (out / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_compare_adds_a_before_after_table(synth, write_json, tmp_path):
    after = write_json(synth.document(_benches(synth)), "after.json")
    slower = _benches(synth)
    for b in slower:
        b["stats"]["median"] *= 2
    before = write_json(synth.document(slower), "before.json")
    assert main([str(after), "--compare", str(before), "--out", str(tmp_path), "--no-plots"]) == 0
    md = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "## Compared with `before.json`" in md and "-50.0%" in md
    assert not (tmp_path / "figures").exists()


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench-report: error: "), err
    return err


def test_missing_file_is_exit_2_with_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == 2
    assert "no such file" in _one_line_error(capsys)
    assert not (tmp_path / "benchmarks.md").exists()


def test_not_pytest_benchmark_json_is_exit_2(write_json, tmp_path, capsys):
    assert main([str(write_json({"hello": "world"})), "--out", str(tmp_path)]) == 2
    assert "not pytest-benchmark JSON" in _one_line_error(capsys)


def test_bad_compare_file_is_exit_2(synth, write_json, tmp_path, capsys):
    good = write_json(synth.document([]))
    bad = tmp_path / "before.json"
    bad.write_text("garbage", encoding="utf-8")
    assert main([str(good), "--compare", str(bad), "--out", str(tmp_path)]) == 2
    assert "before.json: not JSON" in _one_line_error(capsys)


def test_usage_errors_are_exit_2_and_help_is_0(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_notes_are_appended_and_a_missing_notes_file_is_exit_2(synth, write_json, tmp_path, capsys):
    results = write_json(synth.document(_benches(synth)))
    notes = tmp_path / "notes.md"
    notes.write_text("**Why.** The batch-norm target needs a fused kernel.\n", encoding="utf-8")
    assert main([str(results), "--out", str(tmp_path), "--no-plots", "--notes", str(notes)]) == 0
    md = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert md.rstrip().endswith("needs a fused kernel.") and "\n## Notes\n" in md
    capsys.readouterr()
    assert main([str(results), "--out", str(tmp_path), "--no-plots", "--notes", str(tmp_path / "none.md")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
