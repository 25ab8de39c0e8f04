"""Atomic ``.npz`` files: written whole or not at all, checked when read.

Checkpoints and model files share this: the archive is written to a temporary
file in the target's directory, flushed and fsync-ed, then renamed onto the
target with ``os.replace`` (atomic on POSIX and Windows), and the directory is
fsync-ed where the platform allows. A crash at any moment leaves the previous
file or the new one, never a half-written file under the final name; the
temporary file a killed writer leaves behind is removed by the next write.

One writer at a time: each writer holds an advisory ``flock`` on its own
temporary file for as long as it lives, and the clean-up removes only the
temporary files whose lock it can take (their writer is dead), so two
processes saving one path never delete each other's file: the last rename
wins. A whole run holds its checkpoint directory with ``hold`` (an advisory
``flock`` on the directory itself, so no lock file is left behind), and a
second run on it is refused in one line before any work.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import re
import struct
import tempfile
import zipfile
import zlib
from typing import NamedTuple

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer is then the user's to ensure
    fcntl = None

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


def _remove_stale(path: str, keep: str) -> None:
    """Removes the temporary files of dead writers of ``path``; live ones hold a lock."""
    for stale in temporary_files(path):
        if os.path.abspath(stale) == os.path.abspath(keep):
            continue
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live writer's file
            os.remove(stale)
        except OSError:
            pass
        finally:
            os.close(fd)


def _live_temporary(path: str, directory: str) -> tuple[int, str]:
    """(fd, name) of a new temporary file for ``path``, locked to mark it live."""
    while True:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}-", suffix=".tmp", dir=directory
        )
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            # Another writer's clean-up may have taken it between mkstemp and flock.
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)


class WriteFailed(OSError):
    """An OSError at write time as one line: what was written, the path and the cause.

    Keeps the original ``errno`` and ``filename``; the command line prints it
    in one line and exits with status 1.
    """

    def __init__(self, what: str, path: str, error: OSError, note: str = ""):
        cause = error.strerror or str(error) or type(error).__name__
        super().__init__(error.errno, f"{what}: could not write {path!r} ({cause}){note}")
        self.filename = path

    def __str__(self) -> str:
        return self.strerror or super().__str__()


class InUseError(ValueError):
    """A file or directory another run is writing (a ValueError, so the CLI prints one line)."""


@contextlib.contextmanager
def hold(directory, what: str = "checkpoint_dir"):
    """Holds ``directory`` for this run: an advisory lock, released on exit.

    Usage::

        with _files.hold(checkpoint_dir, "checkpoint_dir"):
            ...  # train and write into checkpoint_dir

    ``directory`` None holds nothing. The lock is a non-blocking ``flock`` on
    the directory (created if missing), so it vanishes with the process that
    held it, even when killed.

    Raises:
      InUseError: another process holds it: ``"<what>: expected a directory no
        other run is writing, received '<dir>', in use by another run"``.
    """
    if directory is None or fcntl is None:
        yield
        return
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InUseError(
                f"{what}: expected a directory no other run is writing, received "
                f"{directory!r}, in use by another run (wait for it to end, or choose "
                "another directory)"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def _live(temporary: str) -> bool:
    """Whether a live writer holds the lock on ``temporary`` (False once it is gone)."""
    if fcntl is None:  # no locks on this platform: no writer can be seen
        return False
    try:
        fd = os.open(temporary, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases a lock taken here
    return False


@contextlib.contextmanager
def reserve(path, what: str):
    """Marks the file ``path`` as this run's to write until exit; refuses one another run marked.

    Usage::

        with _files.reserve(args.save, "--save"):
            ...  # train, then atomic_savez(args.save, ...)

    The mark is one of ``path``'s temporary files, locked as a live writer's
    is, so writes of ``path`` (this run's included) leave it alone, and it
    vanishes with the run (a killed run's is removed by the next write).
    ``path`` None reserves nothing.

    Raises:
      InUseError: another live run reserved ``path``: ``"<what>: expected a
        file no other run is writing, received '<path>', in use by another run"``.
    """
    if path is None or fcntl is None:
        yield
        return
    path = os.fspath(path)
    fd, mine = _live_temporary(path, os.path.dirname(os.path.abspath(path)))
    try:
        # Marked first, then looked: of two runs starting together, at least one sees the other.
        for other in temporary_files(path):
            if os.path.abspath(other) != os.path.abspath(mine) and _live(other):
                raise InUseError(
                    f"{what}: expected a file no other run is writing, received {path!r}, "
                    "in use by another run (wait for it to end, or choose another file)"
                )
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(mine)
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """A file object on a temporary file that replaces ``path`` whole when the block ends.

    Usage::

        with _files.atomic_open("out.csv", "w", newline="") as f:
            f.write("a,b\\n")  # streamed into '.out.csv-XXXX.tmp' beside out.csv

    The temporary file lies in ``path``'s folder, is locked as a live writer's
    (so ``reserve`` and the clean-up see it), and gets the permissions a plain
    ``open`` would give (0666 less the umask). On leaving the block it is
    flushed, fsync-ed and renamed onto ``path``; an exception (a full disk, a
    Ctrl-C) removes it and leaves the old ``path`` whole; a killed writer's is
    removed by the next write. ``mode`` is ``"w"`` or ``"wb"``; ``kwargs`` go to
    ``open`` (``newline``, ``encoding``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = _live_temporary(path, directory)
    try:
        _remove_stale(path, keep=tmp)
        os.fchmod(fd, 0o666 & ~_umask())
        with open(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # before the close that drops the lock marking it live
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def atomic_savez(path: str, arrays: dict) -> str:
    """Writes ``arrays`` to the ``.npz`` file ``path`` atomically (``atomic_open``); returns it."""
    with atomic_open(path, "wb") as f:
        _write_npz(f, arrays)
    return path


# What a damaged archive can raise while NumPy reads it: a bad zip structure or CRC,
# an unsupported compression byte (NotImplementedError), a truncated member
# (EOFError, struct.error, zlib.error), a nonsense size (MemoryError), ...
_UNREADABLE = (
    OSError,
    ValueError,
    EOFError,
    KeyError,
    IndexError,
    TypeError,
    RuntimeError,
    MemoryError,
    OverflowError,
    NotImplementedError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
)


class Unreadable(Exception):
    """An archive NumPy cannot read whole, or one it should not; the message says why."""


def _env_bytes(name: str, default: int) -> int:
    try:
        return max(int(os.environ.get(name, default)), 0)
    except ValueError:
        return default


DEFAULT_MAX_ARRAY_BYTES = 8 << 30


def max_array_bytes() -> int:
    """The most bytes the arrays of one file may declare: ``NNBASICS_MAX_ARRAY_BYTES`` (8 GiB).

    Checked against each ``.npz``/``.npy`` file's declared shapes before any
    data is read or decompressed (models, checkpoints and users' data files).
    """
    return _env_bytes("NNBASICS_MAX_ARRAY_BYTES", DEFAULT_MAX_ARRAY_BYTES)


# A JSON header (model header, checkpoint manifest): at most this many characters and levels.
MAX_JSON_CHARS = 1 << 22
MAX_JSON_DEPTH = 32
_NPY_HEADER_LIMIT = 10_000  # NumPy's own default


def too_big(nbytes: int, limit: int) -> str:
    return (
        f"arrays declaring {nbytes} bytes, more than the limit of {limit} "
        "(set NNBASICS_MAX_ARRAY_BYTES to raise it)"
    )


class Member(NamedTuple):
    """A ``.npy`` member of an archive as its header declares it (nothing decompressed)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int
    info: zipfile.ZipInfo


def _declared(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Member:
    """The shape and dtype ``info``'s ``.npy`` header declares, checked against its size."""
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            read = np.lib.format.read_array_header_1_0
        elif version == (2, 0):
            read = np.lib.format.read_array_header_2_0
        else:
            raise ValueError(f"member {info.filename!r} of .npy version {version}")
        shape, _, dtype = read(f, max_header_size=_NPY_HEADER_LIMIT)
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f"member {info.filename!r} holds Python objects")
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if info.file_size - offset != nbytes:
        raise ValueError(
            f"member {info.filename!r} declares {nbytes} bytes of data but holds "
            f"{info.file_size - offset}"
        )
    return Member(tuple(shape), dtype, nbytes, info)


def _starts_with(path, file, magic: bytes) -> bool:
    try:
        if file is not None:
            file.seek(0)
            return file.read(len(magic)) == magic
        with open(path, "rb") as f:
            return f.read(len(magic)) == magic
    except OSError:
        return False


class Archive:
    """An ``.npz`` file opened for reading, member by member, nothing decompressed up front.

    Usage::

        with _files.Archive(path) as archive:
            archive.allow({"header", "W"})  # any other member: refused
            archive.members["W"].shape      # as declared, before reading
            W = archive.read("W")

    Opening reads the zip directory and each member's ``.npy`` header (a few
    hundred bytes each): ``members`` maps each array name to its declared
    ``Member``. A member declaring more bytes than it holds, or the archive's
    members declaring more than ``limit`` bytes together, are refused before
    any data is decompressed; reading a member checks its CRC.

    Raises:
      FileNotFoundError, IsADirectoryError: as ``open`` does.
      Unreadable: any other reason it cannot or should not be read.
    """

    def __init__(self, path, file=None):
        self.path = os.fspath(path)
        limit = max_array_bytes()
        try:
            self._zip = zipfile.ZipFile(self.path if file is None else file)
        except (FileNotFoundError, IsADirectoryError):
            raise
        except _UNREADABLE as e:
            if isinstance(e, zipfile.BadZipFile) and _starts_with(path, file, b"\x93NUMPY"):
                raise Unreadable("ValueError: a .npy array, not an .npz archive") from None
            raise Unreadable(f"{type(e).__name__}: {e}") from None
        try:
            self.members: dict[str, Member] = {}
            for info in self._zip.infolist():
                name = info.filename
                if not name.endswith(".npy") or name[:-4] in self.members:
                    raise Unreadable(f"a member {name!r} that is not one array of the file")
                self.members[name[:-4]] = _declared(self._zip, info)
            total = sum(m.nbytes for m in self.members.values())
            if total > limit:
                raise Unreadable(too_big(total, limit))
        except Unreadable:
            self._zip.close()
            raise
        except _UNREADABLE as e:
            self._zip.close()
            raise Unreadable(f"{type(e).__name__}: {e}") from None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self._zip.close()

    def allow(self, names) -> None:
        """Refuses a member not in ``names`` (Unreadable naming it)."""
        extra = sorted(set(self.members) - set(names))
        if extra:
            shown = ", ".join(repr(k) for k in extra[:5]) + (", ..." if len(extra) > 5 else "")
            raise Unreadable(f"{len(extra)} unexpected member(s) {shown}")

    def read(self, name: str) -> np.ndarray:
        """The array ``name``, decompressed and CRC-checked."""
        try:
            with self._zip.open(self.members[name].info) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except _UNREADABLE as e:
            raise Unreadable(f"{type(e).__name__}: {e}") from None

    def json(self, name: str):
        """The JSON text held in the 0-d string array ``name``, parsed, its size and depth bounded."""
        member = self.members[name]
        if member.dtype.kind != "U" or member.shape != ():
            raise Unreadable(f"{name} is not a text, but {member.dtype}{list(member.shape)}")
        if member.nbytes // 4 > MAX_JSON_CHARS:
            raise Unreadable(f"{name} of {member.nbytes // 4} characters, above {MAX_JSON_CHARS}")
        return parse_json(str(self.read(name)))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def parse_json(text: str):
    """``json.loads(text)`` once its nesting is known to be at most ``MAX_JSON_DEPTH``.

    Raises:
      Unreadable: not JSON, or nested deeper (a crafted header that would
        otherwise end in ``RecursionError``).
    """
    depth = deepest = 0
    for c in _JSON_STRING.sub("", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise Unreadable(f"JSON nested {deepest} levels deep, more than {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except ValueError as e:
        raise Unreadable(f"unreadable JSON ({e})") from None


def field_error(what: str, path: str, field: str, expected: str, received: str) -> ValueError:
    """``"<what>: expected <expected> as <field> in '<path>', received <received>"``."""
    return ValueError(f"{what}: expected {expected} as {field} in {path!r}, received {received}")


def check_finite(what: str, path: str, field: str, value) -> None:
    """Refuses NaN/inf in the array ``value`` read from ``path`` (a ``field_error``)."""
    finite = np.isfinite(np.asarray(value))
    if not finite.all():
        raise field_error(
            what, path, field, "finite values", f"{int((~finite).sum())} NaN/inf values"
        )


def read_npz(path: str, what: str, members, key: str = "header") -> tuple[dict, dict]:
    """(header, arrays) of an ``.npz`` file whose ``key`` array holds a JSON object.

    Only the header is read before ``members(header)`` says which arrays the
    file may hold, as ``{name: shape}`` (a shape None: any); any other member,
    or one declaring another shape, is refused before its data is decompressed.
    ``members(header, declared)`` (``declared``: ``Archive.members``) checks the
    header's fields against what the file holds, raising ``ValueError``.

    Raises:
      ValueError: ``"<what>: expected ..., received ..."`` for a missing,
        unreadable, foreign or crafted file.
    """
    try:
        with Archive(path) as archive:
            if key not in archive.members:
                raise ValueError(
                    f"{what}: expected an nnbasics file with a {key}, received {path!r}"
                )
            try:
                header = archive.json(key)
            except Unreadable as e:
                raise ValueError(
                    f"{what}: expected a JSON {key} in {path!r}, received one it cannot read ({e})"
                ) from None
            if not isinstance(header, dict):
                raise ValueError(
                    f"{what}: expected a JSON object as the {key} of {path!r}, "
                    f"received {type(header).__name__}"
                )
            shapes = members(header, archive.members)
            archive.allow([key, *shapes])
            for name, shape in shapes.items():
                declared = archive.members.get(name)
                if shape is not None and declared is not None and declared.shape != tuple(shape):
                    raise ValueError(
                        f"{what}: expected {name} of shape {tuple(shape)}, received shape "
                        f"{declared.shape} in {path!r}"
                    )
            arrays = {k: archive.read(k) for k in archive.members if k != key}
    except FileNotFoundError:
        raise ValueError(f"{what}: expected an existing file, received {path!r}") from None
    except IsADirectoryError:
        raise ValueError(f"{what}: expected a file, received the directory {path!r}") from None
    except Unreadable as e:
        raise ValueError(
            f"{what}: expected a readable .npz file, received {path!r} ({e})"
        ) from None
    return header, arrays
