"""Stability sweep: every correct layer gets the same verdict on every seed and profile, with a margin.

Runs the whole checklist over every built-in layer and every correct variant of the mutation suite
(:mod:`mutants`), for seeds × profiles, and records per layer the verdicts seen and the minimum margin
(``tolerance / observed error`` over the records of every property that passed or warned, from
``PropertyResult.margin``) with the property that has it. A correct layer must never fail or error (a *flip*),
and its margin should stay ≥ 4 (:data:`gradcheck.engine.policy.MARGIN_FLOOR`).

Usage::

    python tests/stability/sweep.py --seeds 0-9 --profiles dev,ci [--thorough-seeds 0-2 --thorough relu,...]
        [--only SUBSTRING] [--jobs 2] [--out sweep.json]

Prints one line per layer and a summary: the number of runs, flips, and the smallest margin and where.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
# The repository first (the reference layers package), the tests folder last (tests/layers must not shadow it).
sys.path.insert(0, str(TESTS.parent))
if str(TESTS) not in sys.path:
    sys.path.append(str(TESTS))

#: The margin below which a correct layer's verdict is considered fragile (policy.MARGIN_FLOOR).
FLOOR = 4.0


@dataclass(frozen=True)
class Layer:
    """A correct layer of the sweep: a kind and an importable ``module:Class`` (or a mutants variant id)."""

    kind: str
    target: str

    @property
    def id(self) -> str:
        """``kind-Class``."""
        return f"{self.kind}-{self.target.rsplit(':', 1)[-1]}"

    def load(self) -> Any:
        """The class (or Function) itself."""
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)


@dataclass
class Summary:
    """What one layer showed over all its runs."""

    layer: str
    runs: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    margin: float = float("inf")
    where: str = ""
    flips: list[str] = field(default_factory=list)

    def add(self, seed: int, profile: str, statuses: dict[str, str], margins: dict[str, float]) -> None:
        """Record one run."""
        self.runs += 1
        verdict = max(statuses.values(), key=["skip", "pass", "warn", "fail", "error"].index, default="skip")
        self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
        bad = sorted(k for k, s in statuses.items() if s in ("fail", "error"))
        if bad:
            self.flips.append(f"seed {seed} {profile}: {', '.join(bad)}")
        for name, m in margins.items():
            if m < self.margin:
                self.margin, self.where = m, f"{name} (seed {seed}, {profile})"


def layers(only: str = "") -> list[Layer]:
    """Every built-in layer and every correct variant, filtered by ``only`` (a substring of the id)."""
    from mutants import all_variants

    from gradcheck.kinds import KINDS, get_kind

    get_kind("linear")  # loads the built-in declarations
    out = [Layer(k.name, b) for k in KINDS.values() for b in k.builtin]
    out += [Layer(v.kind, f"{v.cls.__module__}:{v.cls.__name__}") for v in all_variants() if v.correct]
    return [la for la in out if only in la.id]


def run_one(layer: Layer, seed: int, profile: str) -> tuple[dict[str, str], dict[str, float]]:
    """One whole checklist: each property's status and margin."""
    from gradcheck.checklist.runner import check_kind

    report = check_kind(layer.kind, layer.load(), seed=seed, profile=profile)
    statuses = {p.name: p.status for p in report.properties}
    margins = {p.name: p.margin for p in report.properties if p.status in ("pass", "warn")}
    return statuses, margins


def _job(args: tuple[Layer, int, str]) -> tuple[str, int, str, dict[str, str], dict[str, float]]:
    layer, seed, profile = args
    statuses, margins = run_one(layer, seed, profile)
    return layer.id, seed, profile, statuses, margins


def _range(text: str) -> list[int]:
    if not text:
        return []
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def sweep(jobs: list[tuple[Layer, int, str]], workers: int = 1, log: Any = None) -> dict[str, Summary]:
    """Run every job (in ``workers`` processes) and summarise per layer."""
    summaries = {la.id: Summary(la.id) for la, _, _ in jobs}
    with ProcessPoolExecutor(workers) if workers > 1 else _Serial() as pool:
        for lid, seed, profile, statuses, margins in pool.map(_job, jobs):
            summaries[lid].add(seed, profile, statuses, margins)
            if log is not None:  # one line per run as it finishes: a long sweep cut short still reports
                bad = [k for k, v in statuses.items() if v in ("fail", "error")]
                least = min(margins.items(), key=lambda kv: kv[1], default=("", float("inf")))
                print(
                    f"{lid} seed {seed} {profile}: margin {least[1]:.3g} ({least[0]}) {bad or ''}", file=log, flush=True
                )
    return summaries


class _Serial:
    """``map`` in this process, with the context-manager shape of an executor."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Any, items: list[Any]) -> Any:
        return (fn(item) for item in items)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring. Exit 1 when a correct layer failed anywhere."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--profiles", default="dev,ci")
    ap.add_argument("--thorough-seeds", default="", help="seeds for the thorough profile (on --thorough layers)")
    ap.add_argument("--thorough", default="", help="comma-separated substrings of the layers run under thorough")
    ap.add_argument("--only", default="", help="a substring of the layer ids to sweep")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default="", help="write the summaries as JSON here")
    args = ap.parse_args(argv)
    chosen = layers(args.only)
    jobs = [(la, s, p) for la in chosen for p in args.profiles.split(",") if p for s in _range(args.seeds)]
    picked = [t for t in args.thorough.split(",") if t]
    jobs += [
        (la, s, "thorough") for la in chosen if any(t in la.id for t in picked) for s in _range(args.thorough_seeds)
    ]
    start = time.perf_counter()
    summaries = sweep(jobs, args.jobs, log=sys.stderr)
    for s in sorted(summaries.values(), key=lambda s: s.margin):
        flips = f"  FLIPS: {'; '.join(s.flips)}" if s.flips else ""
        print(f"{s.layer:55s} runs {s.runs:3d}  {s.verdicts}  min margin {s.margin:9.3g}  at {s.where}{flips}")
    worst = min(summaries.values(), key=lambda s: s.margin)
    n_flips = sum(len(s.flips) for s in summaries.values())
    print(
        f"\n{len(jobs)} runs over {len(summaries)} layers in {time.perf_counter() - start:.0f} s; "
        f"{n_flips} flips; smallest margin {worst.margin:.3g} ({worst.layer}, {worst.where})"
    )
    if args.out:
        Path(args.out).write_text(json.dumps({k: vars(v) for k, v in summaries.items()}, indent=1, default=str))
    return 1 if n_flips else 0


if __name__ == "__main__":
    sys.exit(main())
