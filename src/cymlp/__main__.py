"""Command line of cymlp: ``python -m cymlp demo [--out DIR] [--quick]``, and
``python -m cymlp info`` (``cymlp.show_config()``: versions, BLAS, SIMD level,
build options).

The parser lives in :mod:`cymlp._demo`; see ``python -m cymlp --help``.
"""

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
