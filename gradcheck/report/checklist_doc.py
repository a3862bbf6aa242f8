"""``docs/checklist.md``, generated from the kind and property registries (``gradcheck list --markdown``)."""

from __future__ import annotations

from collections.abc import Callable

from gradcheck.kinds import KINDS, REGIMES, Kind, get_kind
from gradcheck.properties.registry import load

__all__ = ["render_checklist_doc"]

HEADER = """# The checklist

Generated from the registries by `gradcheck list --markdown > docs/checklist.md`; do not edit by hand.

This is the list a person follows when validating a new layer derivation, and what `gradcheck check KIND TARGET`
runs: each property on Hypothesis-generated cases (constructor arguments over their ranges, batch sizes from 1,
float32 and float64, the kind's value regimes), each failure shrunk to a minimal case with a command that
reproduces it.
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
    lines += ["", "## Value regimes\n"]
    lines += [f"- `{name}`: {text}" for name, text in REGIMES.items()]
    return "\n".join(lines) + "\n"
