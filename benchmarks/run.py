"""Runs the nnbasics benchmarks: ``python benchmarks/run.py [--full] [--device cpu|gpu] ...``.

A thin wrapper around ``nnbasics.bench.main`` (the same as ``nnbasics bench``).
"""

import sys

from nnbasics.bench import main

if __name__ == "__main__":
    sys.exit(main())
