"""``nnbasics launch -n N -- train ...``: a distributed command's N processes on this machine.

Its options are parsed by ``nnbasics.distributed.launch_main`` (see
``nnbasics launch --help`` and docs/distributed.md).
"""

from __future__ import annotations


def add_parser(sub) -> None:
    """Adds ``launch`` (help only: ``main`` forwards its arguments untouched)."""
    sub.add_parser(
        "launch",
        add_help=False,
        help="start N processes of one distributed command on this machine "
        "(see 'nnbasics launch --help')",
    )


def run(argv: list[str]) -> int:
    """Runs ``nnbasics.distributed.launch_main(argv)``; returns its exit status."""
    from nnbasics import distributed

    return distributed.launch_main(argv)
