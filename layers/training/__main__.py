"""``python -m layers.training MODEL …``."""

import sys

from layers.training.cli import main

sys.exit(main())
