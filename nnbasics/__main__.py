"""``python -m nnbasics``: the same command line as ``nnbasics``."""

import sys

from nnbasics.cli import main

if __name__ == "__main__":
    sys.exit(main())
