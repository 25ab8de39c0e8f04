"""Ctrl-C while the ``nnbasics`` command starts: one line and exit status 130.

``python -m nnbasics`` and the ``nnbasics`` script import the package (JAX,
NumPy, pandas: seconds) before the command line's own handling of Ctrl-C is
in place; an interrupt then would print a long ``KeyboardInterrupt``
traceback, or be swallowed by a callback that ignores exceptions (JAX's
garbage-collection hook) and let the run go on. Until ``nnbasics.cli.main``
takes over, SIGINT ends the process at once with one line.
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
