"""``nnbasics train``: load a data set, split, standardize, train with nb.fit, report.

nnbasics train                       # digits, 64-256-10 relu/softmax, Adam: >= 97 % test accuracy
nnbasics train --dataset iris --hidden-sizes 16 --epochs 50 --plot curves.png
"""

from nnbasics.cli.train._arguments import (
    DEFAULT_LR,
    HIDDEN_UNITS,
    OPTIMIZERS,
    OUTPUT_UNITS,
    SCHEDULES,
)
from nnbasics.cli.train._arguments import add_parser as _add_options
from nnbasics.cli.train._run import run


def add_parser(sub) -> None:
    """Adds ``train`` and its options to the subcommands ``sub``, run by :func:`run`."""
    _add_options(sub).set_defaults(func=run)


__all__ = [
    "DEFAULT_LR",
    "HIDDEN_UNITS",
    "OPTIMIZERS",
    "OUTPUT_UNITS",
    "SCHEDULES",
    "add_parser",
    "run",
]
