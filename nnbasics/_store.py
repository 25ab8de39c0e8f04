"""Whole compiled programs kept on disk, so that a warm process neither traces nor lowers.

JAX's persistent cache (``nnbasics.compilation``) saves the XLA compile, but it is
keyed by the lowered program: every process still traces each function and
lowers it before it can read the cache (for a vmapped search about a second).
A :class:`Stored` function keeps the compiled executable itself, under a key
made of everything that can change it, in ``<compilation cache>/nnbasics-programs``:

- the static configuration of the program (``_program``'s key: the network,
  the optimizer's structure, the epoch's settings), written out as text;
- the arguments' tree structure, shapes, dtypes and weak types;
- nnbasics' own code (a hash of every source file of the package), the jax and
  jaxlib versions, the machine (architecture, CPU features), the devices (kind,
  platform, count), x64 mode, the JAX settings that change a program,
  ``$XLA_FLAGS`` and the compiler options.

A stored program is compiled with :func:`nnbasics.compilation.compiler_options`;
with the store off (the compilation cache off) it is compiled the same way and kept
in memory only, so the results do not depend on the cache. Only an executable that
this process compiled is stored (one that JAX's cache
served cannot be serialized whole again). The next process that calls the
function with arguments of the same key loads the executable (a few milliseconds) and runs it: the same executable the compiler
built, so the results are the same bits. The store is on exactly when the
compilation cache is (``jax_compilation_cache_dir`` set; ``nb.disable_compilation_cache``
and ``NNBASICS_NO_COMPILE_CACHE`` turn both off), holds at most
:data:`MAX_BYTES` (the least recently used entries go first), and trusts its folder
as JAX trusts its cache: what it reads, it runs. An entry that cannot be read
(a corrupt or truncated file) is ignored with one warning and written again.
Anything the key cannot describe (an optax transformation that is not an
``nb.optim`` one, arrays spread over several devices, several processes, keyword
arguments, a call inside ``jit``, ``vmap`` or ``grad``, ``jax_disable_jit``, NaN checks) runs
through ``jax.jit`` as usual.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import pickle
import threading
import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.core import Tracer
from jax.experimental import serialize_executable

from nnbasics import _files
from nnbasics.compilation import compiler_options

FOLDER = "nnbasics-programs"
MAX_BYTES = 1 << 28
"""The store's size bound (256 MiB): past it, the least recently used programs are removed."""
_FORMAT = 1
# JAX settings that change what a traced function compiles to (others, such as the
# cache's own settings or logging, do not).
_SETTINGS = (
    "jax_enable_x64",
    "jax_threefry_partitionable",
    "jax_default_prng_impl",
    "jax_default_matmul_precision",
    "jax_numpy_dtype_promotion",
    "jax_numpy_rank_promotion",
    "jax_enable_checks",
)
_warned: set[str] = set()


class _Unstable(Exception):
    """A static configuration with no text that is the same in every process."""


def _text(obj: Any) -> str:
    """``obj`` as text that another process writes the same way; raises _Unstable otherwise."""
    if obj is None or isinstance(obj, bool | int | float | str | bytes):
        return repr(obj)
    if isinstance(obj, tuple | list):
        return "(" + ",".join(_text(v) for v in obj) + ")"
    if isinstance(obj, dict):
        return "{" + ",".join(sorted(f"{_text(k)}:{_text(v)}" for k, v in obj.items())) + "}"
    if isinstance(obj, np.dtype):
        return f"dtype:{obj.name}"
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = ",".join(
            f"{f.name}={_text(getattr(obj, f.name))}" for f in dataclasses.fields(obj)
        )
        return f"{type(obj).__module__}.{type(obj).__qualname__}({fields})"
    qualname = getattr(obj, "__qualname__", "")
    if (isinstance(obj, type) or callable(obj)) and qualname and "<" not in qualname:
        return f"{obj.__module__}.{qualname}"
    raise _Unstable(type(obj).__name__)


@functools.cache
def _source_hash() -> str:
    """A hash of every source file of the installed nnbasics package."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def environment() -> str:
    """The part of every key that the process, not the call, decides."""
    from nnbasics.compilation import _machine_key

    devices = jax.devices()
    settings = [f"{name}={getattr(jax.config, name)!r}" for name in _SETTINGS]
    return "\n".join(
        [
            f"format {_FORMAT}",
            f"nnbasics {_source_hash()}",
            _machine_key(),
            f"devices {devices[0].platform} {devices[0].device_kind} x{len(devices)}",
            *settings,
            f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')}",
            f"compiler options {compiler_options()!r}",
        ]
    )


def folder() -> str | None:
    """Where programs are stored: beside JAX's compilation cache, or None when it is off."""
    cache = jax.config.jax_compilation_cache_dir  # pyright: ignore[reportAttributeAccessIssue]
    return os.path.join(os.fspath(cache), FOLDER) if cache else None


def _compiles_itself() -> bool:
    """Whether a :class:`Stored` function compiles (and stores) its programs itself; if not,
    ``jax.jit`` runs them, as it must with jit off, several processes or NaN checks."""
    config = jax.config
    return not (
        config.jax_disable_jit  # pyright: ignore[reportAttributeAccessIssue]
        or jax.process_count() > 1
        or config.jax_debug_nans  # pyright: ignore[reportAttributeAccessIssue]
        or config.jax_debug_infs  # pyright: ignore[reportAttributeAccessIssue]
    )


def _signature(leaf) -> tuple:
    """(shape, dtype, weak type, sharding): read from the array's attributes, as this
    runs on every call (``jax.typeof`` would cost several times more, and so would
    ``str(dtype)``: the dtype itself is hashed, and its repr written in the key)."""
    if isinstance(leaf, Tracer):  # called inside jit, vmap or grad: traced, not run
        raise _Unstable("a traced value")
    if isinstance(leaf, jax.Array):
        return (leaf.shape, leaf.dtype, leaf.weak_type, leaf.sharding)
    aval = jax.typeof(leaf)
    return (aval.shape, aval.dtype, bool(getattr(aval, "weak_type", False)), None)


class Stored:
    """``jitted`` whose compiled executables are stored whole under ``static``'s key.

    Called like ``jitted`` (positional arguments); ``lower`` is ``jitted.lower``.
    """

    def __init__(self, static: Any, jitted):
        self.jitted = jitted
        try:
            self.static = _text(static)
        except _Unstable:
            self.static = None
        self._compiled: dict = {}

    def lower(self, *args, **kwargs):
        return self.jitted.lower(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if self.static is None or kwargs or not _compiles_itself():
            return self.jitted(*args, **kwargs)
        where = folder()
        leaves, tree = jax.tree.flatten(args)
        try:
            signature = (tree, tuple(_signature(x) for x in leaves))
        except _Unstable:
            return self.jitted(*args)
        program = self._compiled.get((where, signature))
        if program is None:
            program = self._compiled[(where, signature)] = self._load_or_compile(
                where, signature, args
            )
        return program(*args)

    def _load_or_compile(self, where: str | None, signature: tuple, args: tuple):
        tree, avals = signature
        if any(sharding is not None and len(sharding.device_set) != 1 for *_, sharding in avals):
            return self.jitted  # arrays spread over several devices
        if where is None:  # no store: compiled as a stored program is, kept in memory only
            return self._compile(args)
        key = "\n".join([environment(), str(self.static), str(tree), repr(avals)])
        if " at 0x" in key:  # an object's address: another process would never match it
            return self.jitted
        path = os.path.join(where, hashlib.sha256(key.encode()).hexdigest() + ".program")
        loaded = _read(path, key)
        if loaded is not None:
            return loaded
        hits = _served.hits
        compiled = self._compile(args)
        # An executable that JAX's persistent cache served has lost its compiled
        # kernels when serialized again (it loads, then fails to run): only a real
        # compilation is stored.
        if _served.hits == hits:
            _write(path, key, compiled)
        return compiled

    def _compile(self, args: tuple):
        return self.jitted.lower(*args).compile(compiler_options=compiler_options())


class _Served(threading.local):
    hits = 0


_served = _Served()


def _count_cache_hits(event: str, **_) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _served.hits += 1


jax.monitoring.register_event_listener(_count_cache_hits)


def _read(path: str, key: str):
    """The executable stored at ``path`` for ``key``, or None (missing, or unreadable: one warning)."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as e:  # a corrupt entry is ignored, not fatal
        _warn_once(path, f"cannot read it ({type(e).__name__}: {e})")
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        _warn_once(path, "it holds another program")
        return None
    try:
        program = serialize_executable.deserialize_and_load(
            entry["executable"], entry["in_tree"], entry["out_tree"]
        )
    except Exception as e:
        _warn_once(path, f"cannot load it ({type(e).__name__}: {e})")
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: evicted last
    return program


def _write(path: str, key: str, compiled) -> None:
    """Stores ``compiled`` at ``path`` whole or not at all; a store that cannot be written is skipped."""
    try:
        executable, in_tree, out_tree = serialize_executable.serialize(compiled)
        entry = {"key": key, "executable": executable, "in_tree": in_tree, "out_tree": out_tree}
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with _files.atomic_open(path, "wb") as f:
            pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
        _evict(os.path.dirname(path))
    except Exception:  # e.g. XLA cannot serialize a program holding a sort's comparator
        return


def _evict(where: str, limit: int | None = None) -> None:
    """Removes the least recently used programs until the folder holds at most ``limit`` bytes."""
    limit = MAX_BYTES if limit is None else limit
    entries = []
    for name in os.listdir(where):
        if name.endswith(".program"):
            try:
                info = os.stat(os.path.join(where, name))
            except OSError:
                continue
            entries.append((info.st_mtime, info.st_size, name))
    total = sum(size for _, size, _ in entries)
    for _, size, name in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):
            os.remove(os.path.join(where, name))
        total -= size


def _warn_once(path: str, why: str) -> None:
    """One warning per process for unreadable stored programs (each is compiled again)."""
    if _warned:
        return
    _warned.add(path)
    warnings.warn(
        f"ignoring an unreadable entry of the persistent compilation cache, the stored "
        f"program {path!r}: {why}; it is compiled again (and any other unreadable one, "
        "without a further warning)",
        UserWarning,
        stacklevel=4,
    )
