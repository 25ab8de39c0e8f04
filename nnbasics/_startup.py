"""The ``nnbasics`` command's start: Ctrl-C, and JAX's environment, in one line each.

``python -m nnbasics`` and the ``nnbasics`` script import the package (JAX,
NumPy, pandas: seconds) before the command line's own handling of Ctrl-C is
in place; an interrupt then would print a long ``KeyboardInterrupt``
traceback, or be swallowed by a callback that ignores exceptions (JAX's
garbage-collection hook) and let the run go on. Until ``nnbasics.cli.main``
takes over, SIGINT ends the process at once with one line (status 130).

JAX reads its ``JAX_*`` environment variables when it is first imported, and
refuses a value it cannot read (``JAX_COMPILATION_CACHE_MAX_SIZE=abc``) with a
traceback; the command ends instead with one line and status 2, as for a bad
option.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _interrupted(signum, frame) -> None:
    os.write(2, b"nnbasics: interrupted\n")
    os._exit(130)


def as_command() -> bool:
    """Whether this process runs the ``nnbasics`` command (``python -m nnbasics`` or the script)."""
    first = sys.argv[0] if sys.argv else ""
    # While ``python -m`` imports the package, sys.argv[0] is "-m".
    return first == "-m" or os.path.basename(first) in ("nnbasics", "nnbasics.exe")


def exit_on_interrupt() -> None:
    """SIGINT ends the process with one line and status 130 (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)


def import_jax_or_exit() -> None:
    """Imports JAX; a ``JAX_*`` variable it refuses ends the process with one line, status 2."""
    try:
        import jax  # noqa: F401
    except ValueError as e:
        line = " ".join(str(e).split())
        os.write(2, f"nnbasics: error: {line} (from the JAX_* environment variables)\n".encode())
        raise SystemExit(2) from None
