"""``docs/checklist.md``, generated from the kind and property registries (``gradcheck list --markdown``)."""

from __future__ import annotations

from collections.abc import Callable

from gradcheck.kinds import KINDS, REGIMES, Kind, get_kind
from gradcheck.properties import load

__all__ = ["render_checklist_doc"]

HEADER = """# The checklist

Generated from the registries by `gradcheck list --markdown > docs/checklist.md`; do not edit by hand.

This is the list a person follows when validating a new layer derivation, and what `gradcheck check KIND TARGET`
runs: each property on Hypothesis-generated cases (constructor arguments over their ranges, batch sizes from 1,
float32 and float64, the kind's value regimes), each failure shrunk to a minimal case with a command that
reproduces it.

## Verdicts

Each property, and the run as a whole (its most severe property), gets one of five verdicts:

- **pass**: every case agreed with the reference within its tolerance.
- **warn**: the gradients are right, but something deserves attention (a NumPy layer that returns float64 for
  float32 inputs, a deviation confined to extreme inputs that a stabilising constant explains, a value that breaks
  only on an edge case at the closed boundary of the domain — a probability exactly 0 into `log` —, a gradient
  the harness could not check). Side effects (purity, state), the interface and the module contract stay
  failures on such boundary cases. The run still passes (exit status 0) unless `--strict` (`strict=True` in
  `check_kind`, `--gradcheck-strict` or `checklist(..., strict=True)` in pytest) makes warnings fail.
- **fail**: a wrong gradient or output on ordinary inputs, lost precision, NaN/Inf, a mutated input, stale state.
- **error**: the layer raised (reported as the layer's exception, with its file and line) or the harness did
  ("internal error").
- **skip**: the property does not apply to the kind, or there was nothing to check.

The run's header says how many properties were checked:
`passed with warnings (14 checked: 13 passed, 1 warning; 2 skipped)`.
"""


def _applies(prop_applies: Callable[[Kind], str | None], kinds: list[Kind]) -> str:
    names = [k.name for k in kinds if prop_applies(k) is None]
    return "all kinds" if len(names) == len(kinds) else ", ".join(names) or "none of the built-in kinds"


def render_checklist_doc() -> str:
    """The Markdown text of ``docs/checklist.md``."""
    get_kind("relu")
    kinds = list(KINDS.values())
    lines = [HEADER, "## Properties\n"]
    for i, p in enumerate(load().values(), 1):
        lines += [
            f"### {i}. `{p.name}` — {p.title}\n",
            f"- **Verifies:** {p.verifies}.",
            f"- **Guards this step of a derivation:** {p.guards}.",
            f"- **A failure means:** {p.failure_means}.",
            f"- **Applies to:** {_applies(p.applies, kinds)}.\n",
        ]
    lines += [
        "## Kinds\n",
        "| kind | what | semantics | kinks | value regimes | built-in |",
        "|---|---|---|---|---|---|",
    ]
    for k in kinds:
        builtin = ", ".join(f"`{b}`" for b in k.builtin)
        lines.append(f"| `{k.name}` | {k.summary} | {k.semantics} | {k.kinks} | {', '.join(k.regimes)} | {builtin} |")
    lines += ["", "## Edge cases\n"]
    lines += ["Run on every seed, before the generated cases, by every property:\n"]
    lines += [f"- `{k.name}`: " + "; ".join(e.label for e in k.edges()) for k in kinds if k.edges()]
    lines += ["", "## Value regimes\n"]
    lines += [f"- `{name}`: {text}" for name, text in REGIMES.items()]
    return "\n".join(lines) + "\n"
