"""A user's own data files: CSV/TSV/TXT tables, ``.npz`` archives, ``.npy`` pairs.

:func:`read` reads a file into a :class:`DataFile` (features, targets, class
names, column names, the task and the file's SHA-256); :func:`read_features`
reads new examples to predict. Bad files are refused in one line naming the
file, the line and the column.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import math
import os
import threading
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nnbasics import _checks, _files
from nnbasics.data._text import DELIMITERS, MISSING_POLICIES, _is_number, read_table
from nnbasics.data.splits import _describe

__all__ = [
    "FILE_SUFFIXES",
    "MAX_INFERRED_CLASSES",
    "MISSING_POLICIES",
    "TASKS",
    "DataFile",
    "read",
    "read_features",
]

TASKS = ("classification", "regression")
"""The accepted ``task`` names of a data file (``None`` infers one from the targets)."""

_ARRAY_SUFFIXES = (".npz", ".npy")
FILE_SUFFIXES = (*DELIMITERS, *_ARRAY_SUFFIXES)
"""The file name endings read as data files: delimited text and NumPy arrays."""

MAX_INFERRED_CLASSES = 20
"""Integer targets with at most this many distinct values are read as classes."""


class DataFile(NamedTuple):
    """A user's data file as :func:`read` returns it; ``read(path)[:2]`` is ``(X, y)``.

    Attributes:
        X: float32 ``(n, d)`` features.
        y: int32 ``(n,)`` class indices into ``classes`` (classification), or
            float32 ``(n, d_out)`` targets (regression).
        classes: the ``k`` class names as strings, ``classes[i]`` for label
            ``i``; None for regression.
        feature_names: ``d`` names: a text file's header cells, else
            ``"column 1"``, ``"column 2"``, ... (the columns' positions in the
            file); ``"X[:, 0]"``, ... for arrays.
        target_name: the target column's name in the same form; ``"y"`` for arrays.
        task: ``"classification"`` or ``"regression"``.
        sha256: hex SHA-256 of the file's bytes (an ``.npy`` pair: of the
            features file's bytes followed by the target file's).
        path: the path as given.
        dropped_lines: int64 1-based line numbers of the rows dropped for
            holding a missing value (``missing="drop"``); empty otherwise.

    Examples:
      >>> import pathlib, tempfile
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "flowers.csv"
      >>> _ = path.write_text("petal,sepal,kind\\n1.4,5.1,setosa\\n4.7,7.0,versicolor\\n")
      >>> data = read(path, target="kind")
      >>> data.task, data.target_name, data.classes
      ('classification', 'kind', ('setosa', 'versicolor'))
    """

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...] | None
    feature_names: tuple[str, ...]
    target_name: str
    task: str
    sha256: str
    path: str
    dropped_lines: np.ndarray


def read(
    path: str | os.PathLike,
    *,
    target: str | int | None = None,
    task: str | None = None,
    missing: str = "refuse",
    header: bool | None = None,
) -> DataFile:
    """Reads a user's data file: a table of examples, one per row.

    Formats, chosen by the file's suffix:

    * ``.csv`` (comma), ``.tsv`` (tab), ``.txt`` (delimiter sniffed among
      comma, tab, semicolon and space): UTF-8 text parsed by pandas' C
      parser (quoted cells allowed; a ``.csv`` whose first line holds
      semicolons and no comma is read as semicolon-separated). The first row
      is a header when one of its cells is not a number while the same
      column holds a number in one of the next 100 rows (or, in a one-row
      file, when any cell is not a number). A first row that this rule
      reads as data but whose text cell (a class name) appears nowhere else
      in its column among the next 100 rows, its other cells numbers
      (``400,410,420,430,species``), is ambiguous and refused unless
      ``header`` says. Blank lines are skipped.
    * ``.npz``: NumPy's ``savez`` archive holding arrays ``X`` ``(n, d)`` and
      ``y`` ``(n,)`` or ``(n, d_out)``.
    * ``.npy``: a pair of NumPy ``save`` files in one directory: ``NAME.npy``
      holds ``X`` and ``NAME.y.npy`` holds ``y`` (for ``X.npy``, the target
      file is ``y.npy``). Give the features file's path.

    Classification or regression, unless ``task`` says: string labels are
    classes; integer targets (an integer dtype, or text cells all written as
    integers such as ``3`` or ``-1``) with at most
    :data:`MAX_INFERRED_CLASSES` distinct values are classes; anything else
    (``0.5``, ``1.0``, more distinct integers, several target columns) is
    regression. Class labels map to ``0 .. k−1`` in sorted order: numeric
    order for numbers, Python's string order for strings.

    Args:
        path: the file.
        target: text files only: the target column, by header name or by
            index (negative counts from the end; a string of digits is an
            index unless it is a header name); None for the last column.
            Every other column is a feature.
        task: None to infer, ``"classification"`` or ``"regression"``.
        missing: text files: ``"refuse"`` a missing value (an empty cell,
            ``NA``, ``N/A``, ``nan``, ``null``, ``none``, ``?``, any case),
            naming how many rows hold one and their first lines; ``"drop"``
            the rows holding one (their lines are ``dropped_lines``). Arrays
            have no missing-value marker: NaN in them is refused either way.
        header: text files: True when the first row names the columns,
            False when it is an example, None to tell by the rule above.

    Returns:
        A :class:`DataFile`.

    Raises:
        ValueError: one line naming the file, the line and column (text:
            1-based line numbers as an editor shows them) and the problem: an
            unsupported, unreadable or empty file; ragged rows; duplicate
            column names; a missing value; a non-numeric or non-finite
            feature; an unknown ``target``; a single class.

    Examples:
      >>> import pathlib, tempfile
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "houses.csv"
      >>> _ = path.write_text("rooms,area,price\\n3,70,high\\n2,40,low\\n4,95,high\\n")
      >>> data = read(path, target="price")
      >>> data.X.tolist(), data.y.tolist()  # classes in sorted order: high=0, low=1
      ([[3.0, 70.0], [2.0, 40.0], [4.0, 95.0]], [0, 1, 0])
      >>> data.feature_names, data.classes
      (('rooms', 'area'), ('high', 'low'))
    """
    shown, suffix = _data_path(path)
    _checks.one_of("task", task, (None, *TASKS))
    _checks.one_of("missing", missing, MISSING_POLICIES)
    if suffix in _ARRAY_SUFFIXES:
        sha256, X, values, feature_names, target_name, where = _read_arrays(shown, suffix, target)
        dropped = np.zeros(0, np.int64)
    else:
        sha256, X, values, feature_names, target_name, where, dropped = _read_text(
            shown, suffix, target, missing, header
        )
    task = task or _infer_task(values)
    if task == "classification":
        y, classes = _encode_classes(values, where)
    else:
        y, classes = _regression_targets(values, where), None
    return DataFile(
        X.astype(np.float32),
        y,
        classes,
        feature_names,
        target_name,
        task,
        sha256,
        shown,
        dropped,
    )


def read_features(
    path: str | os.PathLike,
    *,
    missing: str = "refuse",
    return_lines: bool = False,
    header: bool | None = None,
) -> tuple:
    """Every column of a data file as features: new examples to predict, without targets.

    Text tables follow :func:`read`'s rules (header detection, delimiters,
    one-line errors naming the line and column of a missing or non-numeric
    cell); ``.npz`` needs only ``X``; ``.npy`` is the features file alone.

    Args:
        path: the file.
        missing: ``"refuse"`` or ``"drop"``, as in :func:`read`.
        header: as in :func:`read`.
        return_lines: also return where each row came from, so that
            predictions can be matched to the file's lines (this reads the
            file's text once more, at the speed of Python's ``csv`` module).

    Returns:
        ``(X, names)``: float32 ``(n, d)`` and the column names; with
        ``return_lines``, ``(X, names, lines, dropped_lines)``: int64 ``(n,)``
        1-based line numbers of the rows of ``X`` (arrays: 1-based row
        numbers) and those of the rows dropped for a missing value.

    Examples:
      >>> import pathlib, tempfile
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "new.csv"
      >>> _ = path.write_text("rooms,area\\n3,70\\n5,120\\n")
      >>> X, feature_names = read_features(path)
      >>> X.tolist(), feature_names
      ([[3.0, 70.0], [5.0, 120.0]], ('rooms', 'area'))
    """
    shown, suffix = _data_path(path)
    _checks.one_of("missing", missing, MISSING_POLICIES)
    dropped = np.zeros(0, np.int64)
    if suffix in _ARRAY_SUFFIXES:
        raw = _read_bytes(shown)
        if suffix == ".npz":
            X = _npz(shown, raw, ("X",))["X"]
        else:
            X = _npy(shown, raw)
        _check_arrays(shown, X, np.zeros(np.shape(X)[:1]))
        X, names = X.astype(np.float32), tuple(f"X[:, {j}]" for j in range(X.shape[1]))
        lines = lambda: np.arange(1, len(X) + 1)
    else:
        _check_readable(shown)
        table = read_table(shown, suffix, header).parse(None, missing)
        X, names, dropped = table.X, tuple(table.names()), table.dropped_lines
        lines = table.lines
    return (X, names, lines(), dropped) if return_lines else (X, names)


def kept_lines(path, targets=(), header: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lines, dropped_lines)`` of the rows ``missing="drop"`` keeps and drops.

    The rows kept are the same whichever column is the target (a row missing
    its target is dropped too); a text column of class names is read as the
    target: the first of ``targets`` (names or indices) the file has, tried
    after none. Raises the first ValueError when none reads.
    """
    shown, suffix = _data_path(path)
    if suffix in _ARRAY_SUFFIXES:
        return read_features(shown, missing="drop", return_lines=True, header=header)[2:]
    _check_readable(shown)
    first = None
    for target in (None, *targets):
        table = read_table(shown, suffix, header)
        try:
            t = None if target is None else _target_index(target, table.header, table.width, shown)
            table.parse(t, "drop")
        except ValueError as e:
            first = first or e
            continue
        return table.lines(), table.dropped_lines
    raise first  # type: ignore[misc]


def _data_path(path: Any) -> tuple[str, str]:
    """``(path as a str, its lower-case suffix)``; ValueError unless a supported data file."""
    if not isinstance(path, (str, os.PathLike)):
        _checks.fail("path", "a file path (str or os.PathLike)", repr(path))
    shown = os.fspath(path)
    suffix = Path(shown).suffix.lower()
    if suffix not in FILE_SUFFIXES:
        _checks.fail("path", "a data file ending in " + ", ".join(FILE_SUFFIXES), repr(shown))
    return shown, suffix


def _read_bytes(path: str | Path) -> bytes:
    """The bytes of ``path``; a one-line ValueError if it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as e:
        _checks.fail(str(path), "a readable file", e.strerror or type(e).__name__)


def _target_index(target: Any, header: list[str] | None, width: int, path: str) -> int:
    """The 0-based index of the ``target`` column (None: the last) of a ``width``-column table."""
    if target is None:
        return width - 1
    if header is not None and isinstance(target, str) and target in header:
        return header.index(target)
    index = _checks.column_index(target, width)
    if index is not None:
        return index
    names = f"a column name ({', '.join(map(repr, header))}) or " if header else ""
    _checks.fail(
        "target",
        f"{names}a column index from {-width} to {width - 1} of {path}",
        _checks.shown(target),
    )


def _check_readable(path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        _checks.fail(path, "a readable file", e.strerror or type(e).__name__)


def _sha256(path: str, stop: threading.Event | None = None) -> str:
    """The hex SHA-256 of the file at ``path``; "" if ``stop`` is set before the end."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if stop is not None and stop.is_set():
                return ""
            digest.update(chunk)
    return digest.hexdigest()


def _read_text(path: str, suffix: str, target: Any, missing: str, header: bool | None = None):
    """Reads a CSV/TSV/TXT table for :func:`read`.

    Returns:
        ``(sha256, X, values, feature_names, target_name, where, dropped_lines)``:
        the file's SHA-256 (hex); float32 ``(n, d)`` features; the target column
        (int64, float64 or str ``(n,)``); names; ``where(i)`` names the file,
        line and target column of target row ``i`` (the column alone for
        None); the lines of the rows dropped for a missing value.
    """
    _check_readable(path)
    # hashlib releases the GIL, and so does pandas' tokenizer: the digest is
    # computed beside the parse rather than after it.
    stop = threading.Event()  # a refused file is refused without hashing it to the end
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        digest = pool.submit(_sha256, path, stop)
        try:
            table = read_table(path, suffix, header)
            names = table.names()
            t = _target_index(target, table.header, table.width, path)
            if table.width == 1:
                _checks.fail(
                    path, "at least one feature column besides the target", "a single column"
                )
            table.parse(t, missing)
            values = table.target_values()
        except BaseException:
            stop.set()
            raise
    return (
        digest.result(),
        table.X,
        values,
        tuple(names[j] for j in table.features_at),
        names[t],
        lambda i: table.where(i, t),
        table.dropped_lines,
    )


def _read_arrays(path: str, suffix: str, target: Any):
    """Reads an ``.npz`` file or an ``.npy`` pair for :func:`read`.

    Returns:
        As :func:`_read_text`: ``where(i)`` names ``y[i]`` (``y`` alone for None).
    """
    if target is not None:
        _checks.fail(
            "target", f"None for {path} (its y array is the target)", _checks.shown(target)
        )
    if suffix == ".npz":
        raw = _read_bytes(path)
        X, y = _npz(path, raw, ("X", "y")).values()
    else:
        y_path = _npy_target_path(path)
        raw_X, raw_y = _read_bytes(path), _read_bytes(y_path)
        X, y = _npy(path, raw_X), _npy(str(y_path), raw_y)
        raw = raw_X + raw_y  # .npy headers carry their lengths: the pair's bytes are unambiguous
    _check_arrays(path, X, y)
    where = lambda i: f"{path}, y" + ("" if i is None else f"[{i}]")
    return (
        hashlib.sha256(raw).hexdigest(),
        X,
        y,
        tuple(f"X[:, {j}]" for j in range(X.shape[1])),
        "y",
        where,
    )


def _np_load(path: str, raw: bytes, what: str, kind: type, magic: bytes):
    """``np.load`` of a file's bytes, without pickles; a one-line ValueError unless a ``kind``."""
    # np.load takes any bytes without its magic string for a pickle, and
    # its refusal to unpickle would then misname the problem.
    if not raw.startswith(magic):
        _checks.fail(path, what, "a file in another format")
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        _checks.fail(path, what, f"a file NumPy cannot read ({first})")
    if not isinstance(loaded, kind):
        _checks.fail(path, what, f"a {type(loaded).__name__}")
    return loaded


def _npz(path: str, raw: bytes, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of an ``.npz`` file's bytes, its members checked before decompressing.

    Only ``X`` and ``y`` may be there; their declared sizes together are
    bounded by ``NNBASICS_MAX_ARRAY_BYTES``.
    """
    what = "an .npz archive of arrays X and y (numpy.savez)"
    if not raw.startswith(b"PK"):
        _checks.fail(path, what, "a file in another format")
    holding = "an .npz archive holding " + (
        "arrays 'X' and 'y'" if "y" in names else "an array 'X'"
    )
    try:
        with _files.Archive(path, io.BytesIO(raw)) as archive:
            if not set(names) <= set(archive.members):
                _checks.fail(path, holding, f"arrays {list(archive.members)}")
            archive.allow(("X", "y"))
            return {name: archive.read(name) for name in names}
    except _files.Unreadable as e:
        _checks.fail(path, what, f"a file it does not read ({e})")


def _npy(path: str, raw: bytes) -> np.ndarray:
    what = "an array saved by numpy.save"
    try:  # the declared size, before NumPy allocates it
        stream = io.BytesIO(raw)
        version = np.lib.format.read_magic(stream)
        read = {(1, 0): np.lib.format.read_array_header_1_0}.get(
            version, np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(stream)
        nbytes = math.prod(shape) * dtype.itemsize
    except (ValueError, EOFError):
        nbytes = 0  # not an .npy header: _np_load says so
    if nbytes > _files.max_array_bytes():
        _checks.fail(
            path,
            what,
            f"a file it does not read ({_files.too_big(nbytes, _files.max_array_bytes())})",
        )
    return _np_load(path, raw, what, np.ndarray, b"\x93NUMPY")


def _npy_target_path(path: str) -> Path:
    """The target file of the ``.npy`` pair whose features file is ``path``.

    ``NAME.npy`` holds X and ``NAME.y.npy`` holds y; ``X.npy`` pairs with ``y.npy``.
    """
    p = Path(path)
    convention = "NAME.npy holds X and NAME.y.npy beside it holds y; X.npy pairs with y.npy"
    if p.name.lower().endswith(".y.npy") or p.name.lower() == "y.npy":
        _checks.fail("path", f"the features file of an .npy pair ({convention})", repr(path))
    y_path = p.with_name("y.npy" if p.name == "X.npy" else p.name[:-4] + ".y.npy")
    if not y_path.exists():
        _checks.fail(path, f"its targets in {y_path} ({convention})", "no such file")
    return y_path


def _check_arrays(path: str, X: np.ndarray, y: np.ndarray) -> None:
    """Rejects arrays that are not numeric finite features ``(n, d)`` and ``n`` targets."""
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        _checks.fail(f"{path}, X", "a numeric array of shape (n, d)", _describe(X))
    n = X.shape[0]
    if n == 0:
        _checks.fail(f"{path}, X", "at least one example", "an empty data set (0 rows)")
    if y.ndim not in (1, 2) or y.shape[0] != n or y.dtype.kind not in "biufU":
        _checks.fail(
            f"{path}, y",
            f"numbers or strings of shape ({n},) or ({n}, d_out), a row per row of X",
            _describe(y),
        )
    _checks.finite_rows(f"{path}, X", X.astype(np.float32))
    if y.dtype.kind == "f":
        _checks.finite_rows(f"{path}, y", y.astype(np.float32))


def _infer_task(values: np.ndarray) -> str:
    """``"classification"`` for string labels or few distinct integers, else ``"regression"``."""
    if values.dtype.kind == "U":
        return "classification"
    if (
        values.dtype.kind in "biu"
        and (values.ndim == 1 or values.shape[1] == 1)
        and len(np.unique(values)) <= MAX_INFERRED_CLASSES
    ):
        return "classification"
    return "regression"


def _encode_classes(values: np.ndarray, where) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels ``(n,)`` or ``(n, 1)`` as int32 indices ``0 .. k−1`` and the ``k`` sorted names."""
    if values.ndim == 2 and values.shape[1] != 1:
        _checks.fail(
            where(None), "one target column for task='classification'", f"{values.shape[1]} columns"
        )
    names, y = np.unique(values.reshape(-1), return_inverse=True)
    fractional = names[np.mod(names, 1) != 0] if names.dtype.kind == "f" else names[:0]
    if len(names) > MAX_INFERRED_CLASSES and len(fractional):
        _checks.fail(
            where(None),
            "class labels for task='classification'",
            f"{len(names)} distinct values in {len(y)} rows that look continuous "
            f"(not whole numbers, e.g. {', '.join(map(str, fractional[:2]))}); "
            "use task='regression'",
        )
    if len(names) < 2:
        _checks.fail(
            where(None),
            "at least 2 classes",
            f"1 class ({_class_name(names[0])!r}) in all {len(y)} rows",
        )
    return y.astype(np.int32), tuple(_class_name(v) for v in names)


def _class_name(value: Any) -> str:
    """A label as text: ``3`` for 3 and 3.0, ``0.5``, ``setosa``."""
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _regression_targets(values: np.ndarray, where) -> np.ndarray:
    """Targets as float32 ``(n, d_out)``; ValueError at the first one that is not a number."""
    if values.dtype.kind == "U":
        i = next(i for i, cell in enumerate(values) if not _is_number(cell))
        _checks.fail(where(i), "a number (task='regression')", repr(str(values[i])))
    return values.astype(np.float32).reshape(len(values), -1)
