"""``nnbasics bench``: its arguments are parsed by ``nnbasics.bench.main``."""

from __future__ import annotations

import importlib

from nnbasics.cli._common import UsageError, fail


def add_parser(sub) -> None:
    """Adds ``bench`` (help only: ``main`` forwards its arguments untouched)."""
    sub.add_parser(
        "bench",
        add_help=False,
        help="benchmarks (arguments forwarded to nnbasics.bench; see 'nnbasics bench --help')",
    )


def run(argv: list[str]) -> int:
    """Runs ``nnbasics.bench.main(argv)``; returns its exit status."""
    try:
        bench = importlib.import_module("nnbasics.bench")
    except ModuleNotFoundError as e:
        if e.name not in ("nnbasics.bench",):
            raise UsageError(
                f"bench needs the optional dependency {e.name!r}: pip install 'nnbasics[bench]'"
            ) from None
        raise UsageError(
            "bench is not available: the module nnbasics.bench is missing from this installation"
        ) from None
    try:
        code = bench.main(argv)
    except SystemExit as e:
        code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return fail(code)
