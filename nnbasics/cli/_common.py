"""What every command shares: errors, argument types, warnings and consoles.

Every bad argument, and every ``ValueError`` the library raises for a bad
option value, ends the command with one line on stderr,
``nnbasics: error: <message>``, and exit status 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Sequence

PROG = "nnbasics"


class UsageError(Exception):
    """A bad command line; its message becomes ``nnbasics: error: <message>``."""


class Parser(argparse.ArgumentParser):
    """argparse, but errors raise instead of printing the usage and exiting, and an
    option is never guessed from a prefix (``--data x`` is not ``--dataset x``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help, once.

    Unlike ``argparse.ArgumentDefaultsHelpFormatter``, it adds nothing where the
    help already states its default (the word "default"), nor for a default of
    None or False (an option that is off unless given); a tuple is shown as
    the comma-separated list the option takes.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default is None
            or default is False
            or default == argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        if isinstance(default, (tuple, list)):
            default = ",".join(map(str, default))
        return f"{text} (default: {str(default).replace('%', '%%')})"


# --------------------------------------------------------------------------
# Argument types: each rejects a bad value with a message naming it


def _number(text: str, kind, test: Callable, expected: str):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value) or not test(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: v >= 0, "a non-negative number")


def unit_interval(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def patience_value(text: str):
    if text.lower() in ("none", "off"):
        return None
    return _number(text, int, lambda v: v >= 0, "a non-negative integer or 'none'")


def widths(text: str) -> tuple[int, ...]:
    """``"128"`` or ``"128,64"`` (hidden widths); ``"none"`` or ``""``: no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths such as 128 or 128,64 (or 'none'), "
            f"received {text!r}"
        )
    return sizes


def choices(allowed: Sequence[str]):
    """A comma-separated subset of ``allowed`` (for gradcheck's --hidden/--output)."""

    def parse(text: str) -> tuple[str, ...]:
        picked = tuple(s.strip() for s in text.split(",") if s.strip())
        bad = [s for s in picked if s not in allowed]
        if not picked or bad:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {', '.join(allowed)}, received {text!r}"
            )
        return picked

    return parse


def add_cache_option(group) -> None:
    from nnbasics.compilation import default_cache_dir

    group.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not use JAX's persistent compilation cache (default: on, in "
        f"{default_cache_dir()}; set JAX_COMPILATION_CACHE_DIR to move it)",
    )


# --------------------------------------------------------------------------
# Output: errors, warnings, consoles


def fail(message: str | BaseException) -> int:
    line = " ".join(str(message).split()) or "invalid arguments"
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return 2


_CACHE_ERROR = "persistent compilation cache"
# Processes sharing one capped cache evict each other's entries: a write that
# finds its entry's files gone lost only that entry, and the program ran.
_CACHE_RACE = ("Error writing persistent compilation cache", "FileNotFoundError")
_shown_cache_error = False


def show_warning(message, category, filename, lineno, file=None, line=None):
    global _shown_cache_error
    text = " ".join(str(message).split())
    if all(part in text for part in _CACHE_RACE):
        return
    if _CACHE_ERROR in text:
        # JAX warns once per unreadable entry; one line says it all.
        if _shown_cache_error:
            return
        _shown_cache_error = True
        text += (
            " (each such program is compiled instead; delete the cache directory "
            "or pass --no-compile-cache)"
        )
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def new_console():
    from rich.console import Console

    # Off a terminal (pipes, tests) rich would wrap tables at 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=120, highlight=False)


def progress_console():
    from rich.console import Console

    # The bar goes to stderr, so that stdout carries only the results table.
    return Console(stderr=True)


def fmt(x: float, percent: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.2%}" if percent else f"{x:.4f}"


@contextlib.contextmanager
def float64(enabled: bool = True):
    """``jax_enable_x64`` switched on for the block (a command's float64 work), then restored."""
    import jax

    # jax's Config sets its flags as attributes at run time; its stubs declare none
    previous = jax.config.jax_enable_x64  # pyright: ignore[reportAttributeAccessIssue]
    jax.config.update("jax_enable_x64", previous or enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


# --------------------------------------------------------------------------
# Output files: checked before any work, written without losing the result


def add_header_option(parser) -> None:
    """``--header`` / ``--no-header``: whether a text data file's first row names its columns."""
    parser.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the data file's first row names its columns (--no-header: it is an example); "
        "default: told from the file (a first row with a text cell where the column below "
        "holds numbers is a header)",
    )


def check_output_file(option: str, path: str, overwrite: bool = False) -> None:
    """Refuses, before any work, an output ``path`` that could not be written.

    A missing folder, a folder given as the file, a folder that takes no new
    files (read-only file system, no permission), or an existing file without
    ``--overwrite``: each one line naming ``option``, the path and the cause.
    """
    import os

    from nnbasics import _files

    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{option}: expected a path in an existing directory, received {path!r}")
    if os.path.isdir(path):
        raise UsageError(f"{option}: expected a file name, received the directory {path!r}")
    if os.path.lexists(path) and not overwrite:
        raise UsageError(
            f"{option}: {path!r} exists; pass --overwrite to replace it (nothing was replaced)"
        )
    why = _files.unwritable(parent)
    if why is not None:
        raise UsageError(f"{option}: expected a writable directory, received {parent!r} ({why})")


class WriteError(Exception):
    """An output file that could not be written after the work was done (exit status 1)."""


def write_failed(option: str, path: str, error: OSError, kept: str | None = None) -> WriteError:
    """One line naming the path and the cause, and where the result went instead."""
    cause = error.strerror or type(error).__name__
    where = f"; the result was written to {kept} instead" if kept else ""
    return WriteError(f"{option}: could not write {path!r} ({cause}){where}")


def dropped_text(lines) -> str:
    """``"3 rows (lines 4, 9, 12)"``: rows dropped for a missing value, the first 10 lines named."""
    shown = ", ".join(str(int(line)) for line in lines[:10]) + (", ..." if len(lines) > 10 else "")
    s = "s" if len(lines) > 1 else ""
    return f"{len(lines)} row{s} (line{s} {shown})"
