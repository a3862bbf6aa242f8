"""Formatting of measured quantities for the report: times and byte counts, three significant digits."""

from __future__ import annotations

import math

__all__ = ["fmt_bytes", "fmt_time"]


def fmt_time(seconds: float) -> str:
    """Three significant digits in ns, µs, ms or s."""
    if not math.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_bytes(n: float) -> str:
    """Bytes in MiB (or KiB below one MiB), three significant digits."""
    return f"{n / 2**20:.3g} MiB" if n >= 2**20 else f"{n / 2**10:.3g} KiB"
