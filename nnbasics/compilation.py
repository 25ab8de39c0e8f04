"""JAX's persistent compilation cache: on by default, safely, in a per-user folder.

    import nnbasics as nb
    nb.fit(...)                          # caches in ~/.cache/nnbasics/jax/<machine>/
    nb.disable_compilation_cache()       # or NNBASICS_NO_COMPILE_CACHE=1: never cache
    nb.enable_compilation_cache(path)    # cache somewhere else

A process that compiles a program writes the executable to the cache; the
next process that compiles the same program (same network, optimizer
structure, shapes, jax version and machine) loads it instead, which turns the
~1 s compilation of a training epoch into a few milliseconds. The results do
not change: a cached executable is the one the compiler would have built.

``nb.fit`` and ``nb.search`` (and the ``nnbasics`` command line) turn the
cache on the first time they run unless the user configured JAX's cache
already (``jax_compilation_cache_dir``), set ``NNBASICS_NO_COMPILE_CACHE``, or
called :func:`disable_compilation_cache`. JAX runs what it reads from the
cache, so the default folder is private: created with owner-only permissions
(0700) and refused, with one warning, if another user could write to it. It
is split by machine (architecture and CPU features) and JAX version, because
nodes of a cluster with other CPU features reject each other's executables,
and bounded (:data:`MAX_BYTES`, oldest entries evicted by JAX).
``$JAX_COMPILATION_CACHE_DIR`` is used as given, and so is
``$JAX_COMPILATION_CACHE_MAX_SIZE`` (bytes; ``-1``: no bound). A folder that
cannot be used warns once and the process compiles as usual.
"""

from __future__ import annotations

import hashlib
import os
import platform
import stat
import warnings

from nnbasics import _files

__all__ = [
    "COMPILER_OPTIONS",
    "MAX_BYTES",
    "OFF_ENV",
    "compiler_options",
    "default_cache_dir",
    "disable_compilation_cache",
    "enable_compilation_cache",
    "use_default_cache",
    "xla_flags",
]

OFF_ENV = "NNBASICS_NO_COMPILE_CACHE"
"""The environment variable that, set to anything but ``""`` or ``"0"``, keeps the cache off."""
MAX_BYTES = 1 << 30  # a digits-sized program is ~100 kB
"""The default cache folder's size bound: 1 GiB, the oldest entries evicted past it."""

_disabled = False
_tried = False


def _machine_key() -> str:
    """Architecture, a hash of the CPU's feature flags, and the JAX version."""
    import jax
    import jaxlib.version

    features = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            features = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    digest = hashlib.sha256(features.encode()).hexdigest()[:12]
    return f"{platform.machine() or 'cpu'}-{digest}-jax{jax.__version__}-jaxlib{jaxlib.version.__version__}"


def default_cache_dir() -> str:
    """Where the cache lives unless told otherwise.

    ``$JAX_COMPILATION_CACHE_DIR`` if set (JAX's own variable, used as
    given), else ``$XDG_CACHE_HOME/nnbasics/jax/<machine>``, else
    ``~/.cache/nnbasics/jax/<machine>``, where ``<machine>`` names the
    architecture, the CPU features and the JAX version.

    Examples:
      >>> import os
      >>> os.path.isabs(default_cache_dir())
      True
    """
    explicit = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nnbasics", "jax", _machine_key())


def _unsafe(path: str) -> str | None:
    """Why ``path`` is not private to this user (None if it is), after making it so if ours."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return "owned by another user"
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, 0o700)
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def enable_compilation_cache(path: str | os.PathLike | None = None) -> str | None:
    """Turns on JAX's persistent compilation cache in ``path`` for this process.

    The directory is created if missing and checked by writing a probe file
    into it; the default one is also made owner-only (0700). A directory that
    cannot be used does not stop anything: one ``UserWarning`` names it and
    the reason, and the process compiles as usual. Entries that later turn
    out unreadable (a corrupt file) make JAX warn and compile that program
    again. The cache is bounded by :data:`MAX_BYTES` unless
    ``$JAX_COMPILATION_CACHE_MAX_SIZE`` is set (bytes, ``-1`` for no bound).

    Args:
      path: the cache directory; None means :func:`default_cache_dir`.

    Returns:
      The directory in use, or None if it could not be used.
    """
    import jax

    private = path is None and not os.environ.get("JAX_COMPILATION_CACHE_DIR")
    path = os.path.abspath(os.path.expanduser(os.fspath(path or default_cache_dir())))
    why = (_unsafe(path) if private else None) or _files.unwritable(path)
    if why is not None:
        warnings.warn(
            f"compilation cache disabled: cannot use {path!r} ({why}); compiling as usual",
            UserWarning,
            stacklevel=2,
        )
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    # Every program is cached, however short its compilation: a small one
    # loads in about a millisecond, and a start-up compiles several.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # A bounded cache reads every entry's access time at each write (about 20 us an
    # entry on 2 cores: 0.1 s per new program with 6,000 entries), so a user with a
    # large folder may set JAX's own variable instead, -1 for no bound (JAX reads it
    # into its flag when imported).
    if not os.environ.get("JAX_COMPILATION_CACHE_MAX_SIZE"):
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    # JAX builds its cache once, at the first compilation after a folder is set: a
    # program compiled before this call (the folder taken from $JAX_COMPILATION_CACHE_DIR)
    # would leave it unbounded, writing entries without the access times that a bounded
    # cache's eviction in another process reads (and fails on: FileNotFoundError).
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()
    return path


def disable_compilation_cache() -> None:
    """Keeps nnbasics from turning the cache on in this process (like ``NNBASICS_NO_COMPILE_CACHE=1``).

    A cache already turned on (by nnbasics or the user) is left as it is;
    call this before the first ``nb.fit``.
    """
    global _disabled
    _disabled = True


def use_default_cache() -> str | None:
    """Turns the default cache on once per process, unless opted out or configured already.

    Called by the compiled entry points (``nb.fit``, ``nb.search``). Does
    nothing if :func:`disable_compilation_cache` was called, if
    ``NNBASICS_NO_COMPILE_CACHE`` is set to anything but ``""``/``0``, or if
    ``jax_compilation_cache_dir`` is already set. Warns at most once.

    Returns:
      The directory turned on by this call, or None.
    """
    global _tried
    if _tried or _disabled or os.environ.get(OFF_ENV, "") not in ("", "0"):
        return None
    _tried = True
    import jax

    # JAX reads $JAX_COMPILATION_CACHE_DIR into its flag; any other value was set by the user.
    # jax's Config sets its flags as attributes at run time; its stubs declare none
    if jax.config.jax_compilation_cache_dir not in (  # pyright: ignore[reportAttributeAccessIssue]
        None,
        os.environ.get("JAX_COMPILATION_CACHE_DIR"),
    ):
        return None
    return enable_compilation_cache()


# ------------------------------------------------------------ how programs compile

COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
"""The XLA options nnbasics' programs are compiled with on the CPU (jaxlib 0.10).

XLA's CPU compiler has two code generators for fused kernels: its MLIR fusion
emitters (its default) and its LLVM IR emitters, chosen by this option. On
nnbasics' programs the LLVM IR emitters compile in about 40 % less time (a small
table's training epoch: 0.66 s → 0.39 s on 2 cores; a whole first run of a
scikit-learn user's script: 16.2 s → 13.5 s). They may order a reduction's additions
differently, so a result can differ from XLA's defaults in its last bit or two:
``tests/test_compilation.py`` trains (every hidden and output unit, 100 epochs),
searches and predicts both ways and requires agreement to 1e-14 relative and equal
labels (measured: within 4e-16). On other jaxlib versions (until compared there) and
on other backends, programs compile with XLA's defaults.

The programs are those of ``nnbasics._store``: every training epoch, evaluation,
search and estimator prediction, with the compilation cache on or off (so turning
the cache off changes no bit). JAX takes compiler options only for an outermost
program, so functions a user may call inside ``jax.jit`` (``net.init``,
``data.split``) compile with XLA's defaults.
"""
# [from, to): where the results were compared (the option itself exists from 0.6 on)
_COMPARED_JAXLIB = ((0, 10), (0, 11))


def compiler_options() -> dict | None:
    """:data:`COMPILER_OPTIONS` for the CPU on a jaxlib where they were compared, else None
    (XLA's defaults).

    Examples:
      >>> compiler_options() in (None, COMPILER_OPTIONS)
      True
    """
    import jax

    if jax.default_backend() != "cpu" or not _compared():
        return None
    return dict(COMPILER_OPTIONS)


def xla_flags(options: dict | None = None) -> str:
    """Compiler options as ``$XLA_FLAGS`` text: by default :data:`COMPILER_OPTIONS` on a
    jaxlib where they were compared ("" elsewhere), for a process whose every program
    should compile as nnbasics' programs do (a test suite, say).

    XLA reads the variable once, when JAX starts its first backend: set it before the
    first computation. :data:`COMPILER_OPTIONS` are the CPU backend's; others ignore them.

    Args:
      options: option names and values; None means :data:`COMPILER_OPTIONS`, version-gated.

    Examples:
      >>> xla_flags({"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 0})
      '--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=0'
    """
    if options is None:
        options = COMPILER_OPTIONS if _compared() else {}
    return " ".join(f"--{k}={str(v).lower()}" for k, v in options.items())


def _compared() -> bool:
    """Whether :data:`COMPILER_OPTIONS` were compared on the installed jaxlib's version."""
    import re

    import jaxlib.version

    found = re.match(r"(\d+)\.(\d+)", jaxlib.version.__version__)
    version = (int(found[1]), int(found[2])) if found else (0, 0)
    low, high = _COMPARED_JAXLIB
    return low <= version < high
