"""Command line of cymlp: ``python -m cymlp demo [--out DIR] [--quick]``.

The commands themselves live in :mod:`cymlp._demo`; see ``python -m cymlp
--help``.
"""

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
