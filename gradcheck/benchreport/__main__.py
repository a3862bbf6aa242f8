"""``python -m gradcheck.benchreport RESULTS.json [--compare BEFORE.json] [--out DIR] [--title TITLE]``."""

import sys

from gradcheck.benchreport.cli import main

sys.exit(main())
