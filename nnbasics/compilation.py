"""JAX's persistent compilation cache, turned on in one line.

    import nnbasics as nb
    nb.enable_compilation_cache()        # ~/.cache/nnbasics/jax (or $JAX_COMPILATION_CACHE_DIR)

A process that compiles a program writes the executable to the cache; the
next process that compiles the same program (same network, optimizer
structure, shapes, jax version and machine) loads it instead, which turns the
~1 s compilation of a training epoch into a few milliseconds. The ``nnbasics``
command line turns it on by default (``--no-compile-cache`` turns it off).

Every compiled program is cached, however short its compilation: a small
program loads in about a millisecond, and a start-up compiles dozens of them.
"""

from __future__ import annotations

import os
import warnings

from nnbasics import _files

__all__ = ["default_cache_dir", "enable_compilation_cache"]


def default_cache_dir() -> str:
    """Where the cache lives unless told otherwise.

    ``$JAX_COMPILATION_CACHE_DIR`` if set (JAX's own variable), else
    ``$XDG_CACHE_HOME/nnbasics/jax``, else ``~/.cache/nnbasics/jax``.
    """
    explicit = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nnbasics", "jax")


def enable_compilation_cache(path: str | os.PathLike | None = None) -> str | None:
    """Turns on JAX's persistent compilation cache in ``path`` for this process.

    The directory is created if missing and checked by writing a probe file
    into it. A directory that cannot be used does not stop anything: one
    ``UserWarning`` names it and the reason, and the process compiles as
    usual. Entries that later turn out unreadable (a corrupt file) make JAX
    warn and compile that program again.

    Args:
      path: the cache directory; None means :func:`default_cache_dir`.

    Returns:
      The directory in use, or None if it could not be used.
    """
    import jax

    path = os.path.abspath(os.path.expanduser(os.fspath(path or default_cache_dir())))
    why = _files.unwritable(path)
    if why is not None:
        warnings.warn(
            f"compilation cache disabled: cannot use {path!r} ({why}); compiling as usual",
            UserWarning,
            stacklevel=2,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path
