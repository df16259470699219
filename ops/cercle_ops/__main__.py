"""python -m cercle_ops: the same as the cercle-ops console script."""

import sys

from .cli import main

sys.exit(main())
