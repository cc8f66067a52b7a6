"""python -m lmtune: the `lmtune` command (lmtune.cli)."""

import sys

from lmtune.cli import main

sys.exit(main())
