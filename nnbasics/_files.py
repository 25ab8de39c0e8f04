"""Atomic ``.npz`` files: written whole or not at all, checked when read.

Checkpoints and model files share this: the archive is written to a temporary
file in the target's directory, flushed and fsync-ed, then renamed onto the
target with ``os.replace`` (atomic on POSIX and Windows), and the directory is
fsync-ed where the platform allows. A crash at any moment leaves the previous
file or the new one, never a half-written file under the final name; the
temporary file a killed writer leaves behind is removed by the next write.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import zipfile

import jax
import numpy as np


def to_numpy(leaf) -> np.ndarray:
    """A leaf as a NumPy array that ``.npz`` stores without pickling.

    Dtypes that NumPy itself lacks (bfloat16 and the other ``ml_dtypes``) are
    stored as unsigned integers of the same width and viewed back on restore.
    """
    arr = np.asarray(jax.device_get(leaf))
    if type(arr.dtype).__module__.split(".")[0] != "numpy" or arr.dtype.kind == "V":
        arr = arr.view(np.dtype(f"uint{8 * arr.dtype.itemsize}"))
    return arr


def _write_npz(file, arrays: dict) -> None:
    np.savez(file, **arrays)


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unwritable(directory: str) -> str | None:
    """Why ``directory`` (created if missing) cannot take new files, or None if it can."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as e:
        return e.strerror or type(e).__name__
    return None


def temporary_files(path: str) -> list[str]:
    """The temporary files a write of ``path`` may have left behind."""
    directory, name = os.path.split(os.path.abspath(path))
    return glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(name)}-*.tmp"))


def atomic_savez(path: str, arrays: dict) -> str:
    """Writes ``arrays`` to the ``.npz`` file ``path`` atomically; returns ``path``.

    The file gets the permissions a plain ``open`` would give it (0666 less
    the umask), not ``mkstemp``'s 0600. Temporary files of earlier writes that
    were killed mid-way are removed first.
    """
    directory = os.path.dirname(os.path.abspath(path))
    for stale in temporary_files(path):
        with contextlib.suppress(OSError):
            os.remove(stale)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}-", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)
    return path


def read_npz(path: str, what: str) -> tuple[dict, dict]:
    """(header, arrays) of an ``.npz`` file whose ``header`` array holds JSON.

    Raises:
      ValueError: ``"<what>: expected ..., received ..."`` for a missing,
        unreadable or foreign file.
    """
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("a .npy array, not an .npz archive")
        with npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise ValueError(f"{what}: expected an existing file, received {path!r}") from None
    except IsADirectoryError:
        raise ValueError(f"{what}: expected a file, received the directory {path!r}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise ValueError(
            f"{what}: expected a readable .npz file, received {path!r} ({type(e).__name__}: {e})"
        ) from None
    if "header" not in arrays:
        raise ValueError(f"{what}: expected an nnbasics file with a header, received {path!r}")
    try:
        header = json.loads(str(arrays.pop("header")))
    except ValueError as e:
        raise ValueError(
            f"{what}: expected a JSON header in {path!r}, received unreadable text ({e})"
        ) from None
    if not isinstance(header, dict):
        raise ValueError(
            f"{what}: expected a JSON object as the header of {path!r}, "
            f"received {type(header).__name__}"
        )
    return header, arrays
