"""MNIST-1D (Greydanus & Kobak 2024): the authors' generator, cached on disk.

``"mnist1d"`` is made by the optional package ``mnist1d`` (``pip install
"nnbasics[mnist1d]"``) with their default arguments: the paper's 4000 training
and 1000 test examples. The first call generates it (about a second) and
caches it in :func:`cache_dir`; later calls read the cache without importing
the generator.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import random
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnbasics import _checks, _files

__all__ = ["MNIST1D_ARGS", "cache_dir"]

# get_dataset_args() of mnist1d 0.0.2 without its download URL: the arguments
# of the paper's data. Kept here, rather than read from the package, so that
# a cache hit needs no import of mnist1d (which imports matplotlib and scipy).
MNIST1D_ARGS: dict[str, Any] = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 0.02,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}
"""The arguments of the MNIST-1D paper's data: ``mnist1d.get_dataset_args()`` less its URL."""


def cache_dir() -> Path:
    """Where generated data sets are cached.

    ``$XDG_CACHE_HOME/nnbasics/data`` when that variable is set, else
    ``~/.cache/nnbasics/data``; each file is named by what it holds, so
    deleting any of them is safe.

    Examples:
      >>> cache_dir().parts[-2:]
      ('nnbasics', 'data')
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnbasics" / "data"


def _mnist1d_args(n: int | None, noise: float, seed: int, shuffle: bool) -> dict:
    """:data:`MNIST1D_ARGS` with :func:`load`'s ``n``, ``noise`` factor, ``seed`` and ``shuffle``."""
    if seed >= 2**32:
        _checks.fail(
            "seed",
            "an integer below 2**32 for 'mnist1d' (the generator seeds NumPy's global RandomState)",
            seed,
        )
    args = dict(
        MNIST1D_ARGS,
        seed=seed,
        shuffle_seq=shuffle,
        corr_noise_scale=MNIST1D_ARGS["corr_noise_scale"] * noise,
        iid_noise_scale=MNIST1D_ARGS["iid_noise_scale"] * noise,
    )
    if n is not None:
        if n % 10:
            _checks.fail(
                "n",
                "a multiple of 10 for 'mnist1d' (the generator makes n/10 examples of each digit)",
                n,
            )
        args["num_samples"] = n
    return args


def _mnist1d_version() -> str:
    """The installed ``mnist1d`` package's version; ValueError saying how to install it."""
    if importlib.util.find_spec("mnist1d") is None:
        _checks.fail(
            "name",
            "'mnist1d' made by the optional package mnist1d (pip install \"nnbasics[mnist1d]\")",
            "mnist1d is not installed",
        )
    try:
        return importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError:  # a source checkout on sys.path
        return "unknown"


def _mnist1d(args: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """The MNIST-1D set that the generator makes from ``args``, cached on disk.

    The cache file's name holds a digest of the generator's version and
    ``args``, so other arguments (or a new generator) never read a stale set.

    Returns:
        ``(X, y, n_train)``: float32 ``(n, 40)``, int32 ``(n,)``, the
        generator's train rows then its test rows.
    """
    key = json.dumps({"generator": f"mnist1d {_mnist1d_version()}", "args": args}, sort_keys=True)
    path = cache_dir() / f"mnist1d-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    shape = (args["num_samples"], args["final_seq_length"])
    cached = _read_cache(path, key, shape)
    if cached is not None:
        return cached
    X, y, n_train = _generate_mnist1d(args)
    _write_cache(path, dict(X=X, y=y, n_train=np.int64(n_train), key=np.array(key)))
    return X, y, n_train


def _generate_mnist1d(args: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """Runs the authors' ``make_dataset(args)`` (no network: only their ``get_dataset`` downloads).

    Returns:
        ``(X, y, n_train)`` as :func:`_mnist1d`.
    """
    from mnist1d.data import make_dataset

    # make_dataset seeds NumPy's and Python's global generators; the caller's
    # streams are put back so that loading a data set draws nothing from them.
    numpy_state, python_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        made = make_dataset(types.SimpleNamespace(**args))
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002 - the legacy global is what it seeds
        random.setstate(python_state)
    X = np.concatenate([made["x"], made["x_test"]]).astype(np.float32)
    y = np.concatenate([made["y"], made["y_test"]]).astype(np.int32)
    return X, y, len(made["y"])


def _read_cache(path: Path, key: str, shape: tuple[int, int]):
    """``(X, y, n_train)`` from the cache file ``path`` if it holds ``key``'s set, else None.

    A missing, unreadable or mismatched file gives None: the caller makes the
    set again and replaces the file.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            X, y, n_train = f["X"], f["y"], int(f["n_train"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if X.shape != shape or X.dtype != np.float32 or y.shape != shape[:1] or y.dtype != np.int32:
        return None
    return X, y, n_train


def _write_cache(path: Path, arrays: dict) -> None:
    """Writes ``arrays`` to the ``.npz`` file ``path`` atomically.

    The archive goes to a temporary file in the same directory, then
    ``os.replace`` renames it onto ``path``: a reader (another process loading
    the same set) sees the old file or the whole new one, never part of it.
    A directory that cannot be written is a ``UserWarning``, not an error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _files.atomic_savez(str(path), arrays)
    except OSError as e:
        warnings.warn(
            f"data set not cached: cannot write {path} "
            f"({e.strerror or type(e).__name__}); it is made again on the next call",
            UserWarning,
            stacklevel=4,
        )
