"""A tqdm progress bar over the training steps, silent when disabled or when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, enabled: bool = True) -> Any:
    """``tqdm(total=total)`` on stderr; disabled by ``enabled=False`` or a non-tty stderr."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, disable=not (enabled and sys.stderr.isatty()))
