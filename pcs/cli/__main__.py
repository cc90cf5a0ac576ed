"""``python -m pcs.cli``: the same as the ``pcs`` command."""

import sys

from pcs.cli import main

sys.exit(main())
