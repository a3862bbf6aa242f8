"""Tests of the checklist as a whole: mutants caught, built-in layers passing, the runner and the CLI.

pytest puts ``tests/`` on ``sys.path`` (for :mod:`mutants`); there ``tests/layers/`` would be found as a namespace
package called ``layers``. The repository root, where the real package lives, is put on the path too: a regular
package anywhere on the path wins over a namespace portion.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("layers"), "__file__", "") is None:  # already imported as the namespace package
    del sys.modules["layers"]
