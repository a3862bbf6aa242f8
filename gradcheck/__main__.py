"""``python -m gradcheck`` runs the command-line interface."""

import sys

from gradcheck.cli import main

sys.exit(main())
