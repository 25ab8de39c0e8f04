"""Delimited text tables (CSV/TSV/TXT) parsed by pandas, refused in one line naming line and column.

pandas' C parser reads the numbers; the standard library's ``csv`` module,
with the same dialect, reads only what pandas does not tell: the first rows
(delimiter, header), and, when something is wrong or rows are dropped, the
line numbers and the cells' text that the messages name. A numeric file
without problems is therefore parsed once, at pandas' speed, and a bad cell
costs one scan up to its line.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

from nnbasics import _checks

if TYPE_CHECKING:  # imported where a file is read: it costs every process ~0.3 s
    import pandas as pd

__all__ = ["DELIMITERS", "MISSING", "MISSING_POLICIES", "Table", "read_table"]

# The column delimiter of each text suffix; None: sniffed among _SNIFFED.
DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}
_SNIFFED = ",\t; "

# Cells read as a missing value (compared in lower case, stripped).
MISSING = ("", "na", "n/a", "nan", "null", "none", "?")
MISSING_POLICIES = ("refuse", "drop")
"""The accepted ``missing`` policies of a text file: refuse a missing value, or drop its row."""

# How many rows below the first are looked at to tell a header from data.
_HEADER_PROBE_ROWS = 100
# Cells per chunk parsed at once: tens of MB of float64, far below a large file's size.
_CHUNK_CELLS = 4_000_000
# How many lines a refusal of missing values names.
_SHOWN_LINES = 5


def _utf8_fail(path: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        _checks.fail(path, "UTF-8 text", f"a byte that is not UTF-8 at offset {e.start}")
    _checks.fail(path, "UTF-8 text", "text that cannot be decoded")


def _every_record(path: str, delimiter: str) -> Iterator[tuple[int, list[str] | None]]:
    """``(1-based last line, stripped cells)`` of every record, None for a blank line.

    A record may span lines (a quoted cell holding a line break), so records
    are counted, never lines: pandas' ``skiprows`` counts records, blank
    lines included. A blank line is empty or holds only spaces and tabs;
    pandas skips it, but keeps ``""`` (one quoted empty cell) as a row.
    """
    with open(path, encoding="utf-8-sig", newline="") as stream:
        last = [""]  # the line read last: all of a one-line record

        def lines() -> Iterator[str]:
            for last[0] in stream:
                yield last[0]

        reader = csv.reader(lines(), delimiter=delimiter, skipinitialspace=True)
        try:
            for row in reader:
                blank = len(row) <= 1 and not last[0].strip(" \t\r\n")
                yield reader.line_num, None if blank else [c.strip() for c in row]
        except csv.Error as e:
            _checks.fail(f"{path}, line {reader.line_num}", "CSV text", str(e))
        except UnicodeDecodeError:
            _utf8_fail(path)


def _records(path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(1-based last line, stripped cells)`` of each record pandas keeps as a row.

    Every record but a blank line is a row (``,,`` and ``""`` included), in
    pandas as here: pandas' row ``k`` (without skipped rows) is record ``k``.
    """
    for line, cells in _every_record(path, delimiter):
        if cells is not None:
            yield line, cells


def _pick(records: Iterator, wanted: np.ndarray) -> dict[int, tuple[int, list[str]]]:
    """The records at the sorted 0-based indices ``wanted``, read no further than the last."""
    out: dict[int, tuple[int, list[str]]] = {}
    if not len(wanted):
        return out
    targets = iter(wanted.tolist())
    nxt = next(targets)
    for k, record in enumerate(records):
        if k == nxt:
            out[k] = record
            nxt = next(targets, None)
            if nxt is None:
                break
    return out


def _sniff(path: str, head: bytes) -> str:
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        _utf8_fail(path)
    try:
        return csv.Sniffer().sniff(text, delimiters=_SNIFFED).delimiter
    except csv.Error:
        _checks.fail(
            path,
            "columns separated by commas, tabs, semicolons or spaces",
            "no consistent delimiter",
        )


class _Probed(NamedTuple):
    """A row read by ``_probe``; ``read`` and ``kept`` count up to and including it."""

    read: int  # records read, blank lines included (what pandas' ``skiprows`` counts)
    kept: int  # rows, blank lines excluded (pandas' row k is the kth row)
    line: int  # 1-based last line
    cells: list[str]


def _probe(path: str, delimiter: str) -> list[_Probed]:
    """The first rows, up to one more non-blank row than the header probe needs.

    Rows of empty cells (``,,``) are included: they are blank unless wider
    than the table.
    """
    probed: list[_Probed] = []
    filled = kept = 0
    for read, (line, cells) in enumerate(_every_record(path, delimiter), 1):
        if cells is None:
            continue
        kept += 1
        probed.append(_Probed(read, kept, line, cells))
        filled += any(cells)
        if filled > _HEADER_PROBE_ROWS + 1:
            break
    return probed


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]]) -> bool:
    """Whether ``rows[0]`` names the columns rather than holding an example.

    It does when one of its cells is neither a number nor a missing-value
    marker while the same column holds a number in one of the next rows; a
    lone row, when any cell is such a name.
    """
    below = rows[1 : 1 + _HEADER_PROBE_ROWS]
    return any(
        not _is_number(cell)
        and cell.lower() not in MISSING
        and (not below or any(_is_number(row[j]) for row in below))
        for j, cell in enumerate(rows[0])
    )


def _check_unambiguous(path: str, line: int, rows: list[list[str]]) -> None:
    """Refuses a first row read as data that may be a header of numbers and one name.

    ``400,410,420,430,species`` above rows of class names: every cell but one
    a number, and that one a text cell found nowhere else in its column among
    the next rows. As data it would make a class of one example; as a header
    it names the target. Only the user knows: refused, suggesting the options.
    """
    below = rows[1 : 1 + _HEADER_PROBE_ROWS]
    text = [j for j, cell in enumerate(rows[0]) if not _is_number(cell)]
    if not below or len(text) != 1 or rows[0][text[0]].lower() in MISSING:
        return
    j = text[0]
    if any(row[j] == rows[0][j] for row in below):
        return
    _checks.fail(
        f"{path}, line {line}",
        "a first row that is clearly a header or clearly an example (pass --header or "
        "--no-header; header=True or False)",
        f"numbers and {rows[0][j]!r}, which appears nowhere else in column {j + 1}: a header "
        "whose names are numbers, or an example of a class seen once?",
    )


def _check_distinct(path: str, line: int, header: list[str]) -> None:
    """Refuses a header naming one column twice (a feature or target by name would be ambiguous)."""
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if name and name in seen:
            _checks.fail(
                f"{path}, line {line}",
                "distinct column names",
                f"{name!r} twice (columns {seen[name] + 1} and {j + 1})",
            )
        seen.setdefault(name, j)


def _is_ragged(cells: list[str], width: int) -> bool:
    """Whether a row's cell count is refused: a row of empty cells is blank unless wider
    than the table, which pandas cannot read."""
    return len(cells) != width and (any(cells) or len(cells) > width)


def _ragged(path: str, line: int, width: int, first: int, cells: list[str]) -> None:
    _checks.fail(
        f"{path}, line {line}", f"{width} cells, as in line {first}", f"{len(cells)} cells"
    )


def _lines_text(lines: list[int], total: int) -> str:
    shown = ", ".join(map(str, lines[:_SHOWN_LINES]))
    return ("lines " if total > 1 else "line ") + shown + (", ..." if total > len(lines) else "")


class Table:
    """A text table: its header from the first rows, then its cells parsed chunk by chunk.

    Attributes (after :meth:`parse`):
        header: the header's cells, or None.
        width: the number of columns.
        columns: ``columns[j]`` is ``"column 'name'"`` with a header, else
            ``"column <j + 1>"``.
        X: float32 ``(n, width − 1)`` (a target) or ``(n, width)`` features.
        target: the target column's stripped cells, a str Series, or None.
        dropped_lines: int64 1-based line numbers of the rows dropped for
            holding a missing value.
    """

    def __init__(self, path: str, delimiter: str, header: bool | None = None):
        self.path, self.delimiter = path, delimiter
        probed = _probe(path, delimiter)
        first = next((p.cells for p in probed if any(p.cells)), None)
        if delimiter == "," and first and len(first) == 1 and ";" in first[0]:
            # A ".csv" written with semicolons (spreadsheets in locales whose
            # decimal mark is the comma) is read as such rather than as one column.
            self.delimiter = delimiter = ";"
            probed = _probe(path, delimiter)
        filled = [p for p in probed if any(p.cells)]
        if not filled:
            _checks.fail(path, "a table with one example per line", "an empty file")
        rows = [p.cells for p in filled]
        self.width = width = len(rows[0])
        self.first_line = filled[0].line
        for p in probed:
            if _is_ragged(p.cells, width):
                _ragged(path, p.line, width, self.first_line, p.cells)
        if header is None:
            header = _has_header(rows)
            if not header:
                _check_unambiguous(path, self.first_line, rows)
        self.header = rows[0] if header else None
        if self.header is not None:
            _check_distinct(path, self.first_line, self.header)
            if len(rows) == 1:
                _checks.fail(path, "data rows below the header", "a header only")
        # pandas skips ``skiprows`` records; its row k is then the record skip + k that
        # _records yields.
        self.skip = filled[0].kept if self.header is not None else 0
        self.skiprows = filled[0].read if self.header is not None else 0
        self.columns = (
            [f"column {name!r}" for name in self.header]
            if self.header
            else [f"column {j + 1}" for j in range(width)]
        )

    def names(self) -> list[str]:
        """Each column's name: its header cell, else ``"column <j + 1>"``."""
        return [c or f"column {j + 1}" for j, c in enumerate(self.header or [""] * self.width)]

    def parse(self, target: int | None, missing: str) -> Table:
        """Parses every row: features to float32, the ``target`` column (an index) as text.

        Chunks of about four million cells keep the peak memory near the
        float32 features' size instead of pandas' whole-file buffers.

        Raises:
            ValueError: in one line, the first problem of: ragged rows; a
                missing value (unless ``missing="drop"``); a cell that is not a
                number, or not finite in float32, in a feature column.
        """
        self.t = target
        self.features_at = [j for j in range(self.width) if j != target]
        blocks, texts, labels, missing_rows, short_rows = [], [], [], [], []
        bad = None  # (label, column, value) of the first bad feature cell in a complete row
        for chunk in self._chunks():
            X = None
            if all(chunk[j].dtype.kind in "iuf" for j in self.features_at):
                with np.errstate(over="ignore"):  # overflow to inf is what ``wrong`` reports
                    X = self._features(chunk).to_numpy(np.float32)
            if X is not None and np.isfinite(X).all():
                # The common case: every feature a finite number, so no blank row, no
                # missing or bad feature; only the target can be missing.
                na, wrong = np.zeros(chunk.shape, bool), None
                if target is not None:
                    na[:, target] = chunk[target].isna().to_numpy()
            else:
                na = chunk.isna().to_numpy(copy=True)  # written below; may be a read-only view
                keep = ~na.all(axis=1)  # a row of empty cells is a blank line
                if not keep.all():
                    chunk, na, X = chunk[keep], na[keep], None if X is None else X[keep]
                if X is not None:
                    wrong = ~np.isfinite(X) & ~na[:, self.features_at]
                else:
                    X = np.empty((len(chunk), len(self.features_at)), np.float32)
                    wrong = np.zeros(X.shape, bool)
                    for c, j in enumerate(self.features_at):
                        X[:, c], na[:, j], wrong[:, c] = _numbers(
                            cast("pd.Series", chunk[j]), na[:, j]
                        )
            short_rows.append(chunk.index.to_numpy()[na[:, -1]])
            if target is not None:
                column = cast("pd.Series", chunk[target])
                if column.dtype.kind not in "iuf":
                    column = column.astype(str).str.strip().where(~na[:, target], "")
                    na[:, target] |= column.str.lower().isin(MISSING).to_numpy()
                texts.append(column)
            rows_missing: np.ndarray = np.any(na, axis=1)
            missing_rows.append(chunk.index.to_numpy()[rows_missing])
            if wrong is not None:
                wrong &= ~rows_missing[:, None]
            if bad is None and wrong is not None and wrong.any():
                i, c = np.unravel_index(int(np.argmax(wrong)), wrong.shape)
                bad = int(chunk.index[int(i)]), self.features_at[int(c)], X[i, c]
            blocks.append(X)
            labels.append(chunk.index.to_numpy())
        self._refuse_ragged(np.concatenate(short_rows))
        self.labels = np.concatenate(labels)
        # The probe saw a row (below the header, if any) holding a cell that is not empty:
        # pandas, skipping the same records, reads it too.
        assert len(self.labels), self.path
        self.X = np.concatenate(blocks)
        self.target = self._target_column(texts) if target is not None else None
        self.dropped_lines = self._missing(np.concatenate(missing_rows), missing)
        if bad is not None:
            label, j, value = bad
            i = int(np.searchsorted(self.labels, label))
            why = (
                "a finite number within float32's range"
                if np.isinf(value)
                else f"a number (a feature; the target is "
                f"{'absent' if target is None else self.columns[target]})"
            )
            _checks.fail(self.where(i, j), why, repr(self.cell(i, j)))
        return self

    def _features(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """The feature columns of ``chunk`` (a slice, not a copy, when the target is at an end)."""
        if self.t is None:
            return chunk
        if self.t in (0, self.width - 1):
            return chunk.iloc[:, 1:] if self.t == 0 else chunk.iloc[:, :-1]
        return chunk.iloc[:, self.features_at]

    def _target_column(self, chunks: list[pd.Series]) -> pd.Series:
        """The target column from its chunks, read again as text where they disagree.

        pandas infers each chunk's type: labels read as numbers in one chunk
        and as text in another, or integers turned into floats by an empty
        cell, are read again as text so that their type is the whole column's.
        """
        import pandas as pd

        kinds = {chunk.dtype.kind for chunk in chunks}
        padded = any(
            chunk.dtype.kind == "f"
            and chunk.isna().any()
            and (np.mod(chunk.dropna().to_numpy(), 1) == 0).all()
            for chunk in chunks
        )
        if not padded and (kinds <= set("iuf") or not kinds & set("iuf")):
            return pd.concat(chunks)
        text = self._read(usecols=[self.t], dtype=str)[self.t]
        return text.loc[self.labels].fillna("").str.strip()

    def _read(self, **options):
        import pandas as pd

        return pd.read_csv(
            self.path,
            sep=self.delimiter,
            header=None,
            # ``width`` columns whatever the first row: a row of empty cells may be narrower;
            # not the index (a wider first row is refused before reading).
            names=list(range(self.width)),
            index_col=False,
            skiprows=self.skiprows,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding="utf-8",  # pandas' C parser skips a byte-order mark itself
            engine="c",
            **options,
        )

    def _chunks(self) -> Iterator[pd.DataFrame]:
        import pandas as pd

        try:
            reader = self._read(chunksize=max(1, _CHUNK_CELLS // self.width))
            with reader:
                yield from reader
        except UnicodeDecodeError:
            _utf8_fail(self.path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            self._refuse_ragged()
            _checks.fail(self.path, "CSV text", str(e).strip().splitlines()[-1])

    def _refuse_ragged(self, wanted: np.ndarray | None = None) -> None:
        """Refuses the first non-blank record (of ``wanted``, else of all) whose width differs."""
        if wanted is not None and not len(wanted):
            return
        records = _records(self.path, self.delimiter)
        found = enumerate(records) if wanted is None else _pick(records, wanted + self.skip).items()
        for _, (line, cells) in found:
            if _is_ragged(cells, self.width):
                _ragged(self.path, line, self.width, self.first_line, cells)

    def _missing(self, rows: np.ndarray, policy: str) -> np.ndarray:
        """Refuses, or drops, the rows (pandas labels) holding a missing value; their lines."""
        if not len(rows):
            return np.zeros(0, np.int64)
        n = len(self.labels)
        if policy == "drop":
            if len(rows) == n:
                _checks.fail(
                    self.path,
                    "rows without missing values to keep",
                    f"a missing value in every one of the {n} rows",
                )
            keep = ~np.isin(self.labels, rows)
            self.X, self.labels = self.X[keep], self.labels[keep]
            if self.target is not None:
                self.target = self.target[keep]
            return self._lines(rows)
        i = int(np.searchsorted(self.labels, rows[0]))
        cells = self.cell(i) or [""]
        j = next((j for j, cell in enumerate(cells) if cell.lower() in MISSING), 0)
        shown = self._lines(rows[:_SHOWN_LINES]).tolist()
        s = "s" if len(rows) > 1 else ""
        _checks.fail(
            self.where(i, j),
            f"a value in every cell ({len(rows)} row{s} of {n} hold a missing value, "
            f"at {_lines_text(shown, len(rows))}; missing='drop' or --drop-missing drops "
            "such rows)",
            f"the missing value {cells[j]!r}" if cells[j] else "an empty cell",
        )

    def lines(self) -> np.ndarray:
        """int64 1-based line numbers of the rows kept (a scan of the file's text)."""
        return self._lines(self.labels)

    def _lines(self, labels: np.ndarray) -> np.ndarray:
        """1-based line numbers of the pandas rows ``labels`` (sorted)."""
        found = _pick(_records(self.path, self.delimiter), labels + self.skip)
        return np.array(
            [found[k][0] if k in found else -1 for k in (labels + self.skip).tolist()], np.int64
        )

    def _record(self, i: int) -> tuple[int, list[str]]:
        k = int(self.labels[i]) + self.skip
        return _pick(_records(self.path, self.delimiter), np.array([k])).get(k, (-1, []))

    def cell(self, i: int, j: int | None = None):
        """The text of row ``i``'s cell in column ``j`` (all its cells for None); ``i`` counts
        the rows kept."""
        cells = self._record(i)[1]
        if j is None:
            return cells
        return cells[j] if j < len(cells) else ""

    def where(self, i: int | None, j: int) -> str:
        """``"<path>, line <line of row i>, <column j>"``; ``i`` None: the column alone."""
        line = "" if i is None else f", line {self._record(i)[0]}"
        return f"{self.path}{line}, {self.columns[j]}"

    def target_values(self) -> np.ndarray:
        """The target's values: int64 if every cell is an integer, float64 if a number, else str.

        Raises:
            ValueError: a number that is not finite in float32.
        """
        import pandas as pd

        assert self.target is not None and self.t is not None  # a table read with a target
        column = cast("pd.Series", self.target)  # a Series once read (pandas' types are loose)
        values: np.ndarray
        if column.dtype.kind in "iuf":
            values = column.to_numpy()
        else:
            try:
                values = cast("pd.Series", pd.to_numeric(column)).to_numpy()
            except (ValueError, TypeError):
                return column.to_numpy(dtype=str)
        if values.dtype.kind != "i":  # floats, and integers beyond int64
            values = values.astype(np.float64)
        with np.errstate(over="ignore"):  # overflow to inf is what this check reports
            finite = np.isfinite(values.astype(np.float32))
        if not finite.all():
            i = int(np.argmin(finite))
            _checks.fail(
                self.where(i, self.t),
                "a finite number within float32's range",
                repr(self.cell(i, self.t)),
            )
        return values


def _numbers(column: pd.Series, na: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A feature column of one chunk: ``(float32 values, missing, wrong)``.

    ``wrong`` marks cells that are neither missing nor a number finite in
    float32 (their value is inf when the cell is a number, else NaN).
    """
    import pandas as pd

    if column.dtype.kind in "iuf":
        with np.errstate(over="ignore"):  # overflow to inf is what ``wrong`` reports
            values = column.to_numpy(np.float32)
        return values, na, ~np.isfinite(values) & ~na
    text = column.astype(str).str.strip()  # pandas' True/False become text, not numbers
    na = na | text.str.lower().isin(MISSING).to_numpy()
    with np.errstate(over="ignore"):
        numbers = cast("pd.Series", pd.to_numeric(text.where(~na, "0"), errors="coerce"))
        values = numbers.to_numpy(np.float32)
    return values, na, ~np.isfinite(values) & ~na


def read_table(path: str, suffix: str, header: bool | None = None) -> Table:
    """The text table at ``path``, a readable file, with its header read (messages name it).

    ``header``: whether the first row names the columns; None: told by ``_has_header``.
    """
    delimiter = DELIMITERS[suffix]
    if delimiter is None:
        with open(path, "rb") as f:
            delimiter = _sniff(path, f.read(65536))
    return Table(path, delimiter, header)
