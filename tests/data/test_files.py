"""Reading users' files (nb.data.read): formats, targets, values, missing cells, chunks and one-line refusals."""

import re

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from nnbasics import data
from nnbasics.data.files import kept_lines
from tests._helpers.files import IRIS_CSV, write_text


def _numbers(rng, n, d):
    """Text cells in the forms users write: signs, exponents, padding, integers."""
    forms = [
        lambda v: f"{v:.6f}",
        lambda v: f"{v:.3e}",
        lambda v: f"+{abs(v):.4f}",
        lambda v: f" {v:.17g}",
        lambda v: str(int(v * 100)),
    ]
    return [[forms[(i + j) % len(forms)](rng.normal() * 10) for j in range(d)] for i in range(n)]


def test_values_equal_pythons_float_parse(tmp_path):
    rng = np.random.default_rng(0)
    cells = _numbers(rng, 300, 6)
    labels = rng.integers(0, 3, 300)
    text = "a,b,c,d,e,f,label\n" + "".join(
        ",".join(row) + f",{k}\n" for row, k in zip(cells, labels)
    )
    got = data.read(write_text(tmp_path / "n.csv", text))
    expected = np.array([[float(c) for c in row] for row in cells]).astype(np.float32)
    np.testing.assert_array_equal(got.X, expected)
    np.testing.assert_array_equal(got.y, labels)
    X, names = data.read_features(write_text(tmp_path / "f.csv", text))
    np.testing.assert_array_equal(X[:, :6], expected)
    assert names == ("a", "b", "c", "d", "e", "f", "label")


def _table(n, bad_row=None, cell="x", quoted_newline=False):
    lines = ["x1,x2,y"]
    if quoted_newline:
        lines.append('1,"2\n",0')  # one record over two lines
    for i in range(n):
        lines.append(f"{i},{cell if i == bad_row else i * 0.5},{i % 2}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("quoted_newline", [False, True])
def test_bad_cell_deep_in_the_file_names_its_line(tmp_path, quoted_newline):
    path = write_text(tmp_path / "d.csv", _table(3000, bad_row=2500, quoted_newline=quoted_newline))
    line = 2502 + 2 * quoted_newline  # header, rows 0..2499, the quoted record's two lines
    with pytest.raises(ValueError, match="expected a number") as e:
        data.read(path)
    assert str(e.value) == (
        f"{path}, line {line}, column 'x2': expected a number (a feature; the target is "
        "column 'y'), received 'x'"
    )


# A header cell and a data cell each holding a quoted line break: records, not lines.
MULTILINE = '"a\nx",b,y\n"1\n",2,0\n3,4,1\n5,6,0\n'  # records on lines 1-2, 3-4, 5, 6


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_a_line_break_in_a_header_cell_keeps_every_row(tmp_path, rows):
    # the header is one record over two lines: skipping it skips one record, not two
    text = "".join(MULTILINE.splitlines(keepends=True)[: 2 + 2 + rows - 1])
    X, names = data.read_features(write_text(tmp_path / "h.csv", text))
    assert names == ("a\nx", "b", "y")
    assert X.tolist() == [[1, 2, 0], [3, 4, 1], [5, 6, 0]][:rows]


def test_line_breaks_in_header_and_data_cells_keep_lines_right(tmp_path):
    path = write_text(tmp_path / "m.csv", MULTILINE)
    got = data.read(path)
    assert got.X.tolist() == [[1, 2], [3, 4], [5, 6]] and got.y.tolist() == [0, 1, 0]
    assert kept_lines(path)[0].tolist() == [4, 5, 6]  # a record's last line
    dropped = MULTILINE.replace("3,4,1", "3,,1").replace('\n",2', '\n",')
    X, _, lines, dropped_lines = data.read_features(
        write_text(tmp_path / "d.csv", dropped), missing="drop", return_lines=True
    )
    assert X.tolist() == [[5, 6, 0]] and lines.tolist() == [6] and dropped_lines.tolist() == [4, 5]
    bad = write_text(tmp_path / "b.csv", MULTILINE.replace("5,6,0", "5,oops,0"))
    with pytest.raises(ValueError, match="oops") as e:
        data.read(bad)
    assert str(e.value) == (
        f"{bad}, line 6, column 'b': expected a number (a feature; the target is column 'y'), "
        "received 'oops'"
    )
    ragged = write_text(tmp_path / "r.csv", MULTILINE.replace("5,6,0", "5,6,0,7"))
    with pytest.raises(ValueError, match=r"line 6: expected 3 cells, as in line 2, received 4"):
        data.read(ragged)


# Lines that are not rows (kept as blank): empty, spaces, one quoted empty cell, empty cells.
_NOT_ROWS = ("\n", "  \n", '""\n', ",,\n", ",\n")


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(
    header_breaks=st.integers(0, 2),
    records=st.lists(st.integers(0, 2) | st.sampled_from(_NOT_ROWS), min_size=1, max_size=8),
    bad=st.integers(0, 7),
)
def test_lines_named_are_each_rows_last_line(tmp_path_factory, header_breaks, records, bad):
    """Rows whose first cell holds 0-2 quoted line breaks, below a header cell holding some,
    among lines that are not rows: each row's line is counted independently of the reader."""
    text, line, lines = '"a' + "\n" * header_breaks + '",b,y\n', 1 + header_breaks, []
    for record in records:
        if isinstance(record, int):
            i = len(lines)
            text += f'"{i}' + "\n" * record + f'",{i}.5,{i % 2}\n'
            line += 1 + record
            lines.append(line)
        else:
            text += record
            line += 1
    hypothesis.assume(lines)
    path = write_text(tmp_path_factory.mktemp("m") / "m.csv", text)
    X, _, got, _ = data.read_features(path, return_lines=True)
    assert X[:, 0].tolist() == list(range(len(lines))) and got.tolist() == lines
    i = bad % len(lines)
    path.write_text(text.replace(f",{i}.5,", ",oops,"))
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}, line {lines[i]}, column 'b': "):
        data.read_features(path)


def test_a_quoted_empty_line_is_a_row_of_empty_cells(tmp_path):
    # pandas keeps '""' as a row (a blank one) where it skips an empty line: so do the lines
    path = write_text(tmp_path / "q.csv", 'a,b,y\n1,2,0\n""\n\n3,oops,1\n')
    with pytest.raises(ValueError, match=r", line 5, column 'b': .* received 'oops'$"):
        data.read(path)
    got = data.read(write_text(tmp_path / "k.csv", 'a,b,y\n1,2,0\n""\n3,4,1\n'))
    assert got.X.tolist() == [[1, 2], [3, 4]]
    assert kept_lines(tmp_path / "k.csv")[0].tolist() == [2, 4]


@pytest.mark.parametrize("above", [0, 1, 150])  # 150: beyond the rows probed for the header
def test_a_row_of_empty_cells_is_blank_unless_wider_than_the_table(tmp_path, above):
    rows = "".join(f"{i},{i},{i % 2}\n" for i in range(above))
    for blank in (",\n", ",,\n"):  # narrower, as wide
        text = "a,b,y\n" + rows + blank + "7,8,0\n9,9,1\n"
        got = data.read(write_text(tmp_path / "n.csv", text))
        assert got.X[above:].tolist() == [[7, 8], [9, 9]] and len(got.X) == above + 2
    path = write_text(tmp_path / "w.csv", "a,b,y\n" + rows + ",,,\n7,8,0\n9,9,1\n")
    with pytest.raises(ValueError, match="cells") as e:
        data.read(path)
    assert (
        str(e.value)
        == f"{path}, line {above + 2}: expected 3 cells, as in line 1, received 4 cells"
    )


def test_non_finite_deep_in_the_file_shows_the_cell_as_written(tmp_path):
    path = write_text(tmp_path / "d.csv", _table(500, bad_row=400, cell="1e400"))
    with pytest.raises(ValueError, match=r", line 402, column 'x2': expected a finite .*'1e400'$"):
        data.read(path)


def test_ragged_rows_deep_in_the_file_are_refused(tmp_path):
    long = _table(500).replace("\n300,150.0,0\n", "\n300,150.0,0,9\n")
    with pytest.raises(ValueError, match=r"line 302: expected 3 cells, as in line 1, received 4"):
        data.read(write_text(tmp_path / "long.csv", long))
    short = _table(500).replace("\n300,150.0,0\n", "\n300,150.0\n")
    for missing in ("refuse", "drop"):  # a short row is not a row with a missing value
        with pytest.raises(ValueError, match=r"line 302: expected 3 cells, .* received 2 cells$"):
            data.read(write_text(tmp_path / "short.csv", short), missing=missing)


def test_a_bad_cell_in_a_one_column_file_is_refused_naming_it(tmp_path):
    path = write_text(tmp_path / "one.csv", "a\n1\nx\n")
    with pytest.raises(ValueError, match="expected a number") as e:
        data.read_features(path)
    assert str(e.value) == (
        f"{path}, line 3, column 'a': expected a number (a feature; the target is absent), "
        "received 'x'"
    )


def test_true_false_cells_are_not_read_as_numbers(tmp_path):
    path = write_text(tmp_path / "b.csv", "a,b,y\n1,True,0\n2,False,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 'b': expected a number .*'True'$"):
        data.read(path)
    labels = data.read(write_text(tmp_path / "l.csv", "a,y\n1,yes\n2,no\n3,yes\n"))
    assert labels.classes == ("no", "yes")


def test_not_utf8_beyond_the_first_rows_is_refused(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 5000 + b"3,\xff\n")
    with pytest.raises(ValueError, match=r"u.csv: expected UTF-8 text, received a byte .* 20006$"):
        data.read(path)


MISSING = "a,b,y\n1,2,0\n3,,1\n\n5,NA,0\n7,8,1\n9,nan,0\n11,12,\n13,?,1\n15,16,0\n17,null,1\n"


def test_missing_values_refused_with_count_and_first_lines(tmp_path):
    path = write_text(tmp_path / "m.csv", MISSING)
    with pytest.raises(ValueError, match="missing value") as e:
        data.read(path)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{path}, line 3, column 'b': expected a value in every cell ")
    assert "6 rows of 9 hold a missing value, at lines 3, 5, 7, 8, 9, ...;" in message
    assert "missing='drop'" in message and message.endswith("received an empty cell")
    with pytest.raises(ValueError, match=r"line 3, column 'b': .*\(6 rows of 9"):
        data.read_features(path)


def test_missing_drop_drops_those_rows_and_names_their_lines(tmp_path):
    path = write_text(tmp_path / "m.csv", MISSING)
    got = data.read(path, missing="drop")
    np.testing.assert_array_equal(got.X, [[1, 2], [7, 8], [15, 16]])
    np.testing.assert_array_equal(got.y, [0, 1, 0])
    assert got.dropped_lines.tolist() == [3, 5, 7, 8, 9, 11]
    X, names, lines, dropped = data.read_features(path, missing="drop", return_lines=True)
    np.testing.assert_array_equal(X, [[1, 2, 0], [7, 8, 1], [15, 16, 0]])
    assert names == ("a", "b", "y") and dropped.tolist() == [3, 5, 7, 8, 9, 11]
    assert lines.tolist() == [2, 6, 10]
    assert len(data.read_features(path, missing="drop")) == 2
    assert got.task == "classification" and got.classes == ("0", "1")  # still integers
    full = data.read(write_text(tmp_path / "f.csv", "a,y\n1,0\n2,1\n"), missing="drop")
    assert full.dropped_lines.tolist() == [] and full.X.shape == (2, 1)


def test_missing_drop_of_every_row_and_bad_policy_are_refused(tmp_path):
    path = write_text(tmp_path / "m.csv", "a,y\n1,\n,1\n")
    with pytest.raises(ValueError, match=r"expected rows without missing .* every one of the 2"):
        data.read(path, missing="drop")
    with pytest.raises(ValueError, match=r"^missing: expected one of 'refuse', 'drop', received"):
        data.read(path, missing="ignore")
    with pytest.raises(ValueError, match=r"^missing: expected one of"):
        data.read_features(path, missing=None)


def test_arrays_refuse_nan_whatever_the_policy(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.array([[1.0], [np.nan]]), y=np.array([0, 1]))
    with pytest.raises(ValueError, match=re.escape("a.npz, X: expected finite values")):
        data.read(tmp_path / "a.npz", missing="drop")


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of two rows of three cells: every rule below is exercised across chunks."""
    from nnbasics.data import _text

    monkeypatch.setattr(_text, "_CHUNK_CELLS", 6)


def test_chunks_agree_with_one_read(tmp_path, small_chunks):
    rng = np.random.default_rng(1)
    cells = _numbers(rng, 41, 2)
    text = "".join(f"{a},{b},{i % 3}\n" for i, (a, b) in enumerate(cells))
    got = data.read(write_text(tmp_path / "n.csv", text))
    expected = np.array([[float(c) for c in row] for row in cells], np.float32)
    np.testing.assert_array_equal(got.X, expected)
    assert got.y.tolist() == [i % 3 for i in range(41)] and got.classes == ("0", "1", "2")


@pytest.mark.parametrize(
    ("target", "classes", "task"),
    [
        (["1", "2", "1", "2", "3", "x"], ("1", "2", "3", "x"), "classification"),  # text late
        (["1", "2", "1", "2", "2.5", "1"], None, "regression"),  # a float late
        (["a", "b", "a", "b", "3", "4"], ("3", "4", "a", "b"), "classification"),  # numbers late
    ],
)
def test_target_type_is_the_whole_columns(tmp_path, small_chunks, target, classes, task):
    text = "p,q,y\n" + "".join(f"{i},{i * 2},{t}\n" for i, t in enumerate(target))
    got = data.read(write_text(tmp_path / "t.csv", text))
    assert got.task == task and got.classes == classes
    if task == "regression":
        assert got.y[:, 0].tolist() == [float(t) for t in target]


def test_drop_keeps_integer_labels_and_lines_across_chunks(tmp_path, small_chunks):
    # line 9 also holds a cell that is not a number: dropped with its row, not refused
    text = "a,b,y\n1,2,0\n3,4,\n5,6,1\n\n7,,0\n9,10,1\n11,12,0\nred,14,?\n15,16,1\n"
    got = data.read(write_text(tmp_path / "d.csv", text), missing="drop")
    assert got.task == "classification" and got.classes == ("0", "1")
    assert got.y.tolist() == [0, 1, 1, 0, 1]
    np.testing.assert_array_equal(got.X[:, 0], [1, 5, 9, 11, 15])
    assert got.dropped_lines.tolist() == [3, 6, 9]
    with pytest.raises(ValueError, match=r"line 3, column 'y': .*\(3 rows of 8 .* lines 3, 6, 9;"):
        data.read(tmp_path / "d.csv")


def test_first_bad_cell_across_chunks(tmp_path, small_chunks):
    text = "a,b,y\n" + "".join(f"{i},{i},0\n" for i in range(9)) + "9,oops,1\n10,inf,0\n"
    with pytest.raises(ValueError, match=r"line 11, column 'b': expected a number .*'oops'$"):
        data.read(write_text(tmp_path / "d.csv", text))
    short = "a,b,y\n" + "".join(f"{i},{i},0\n" for i in range(9)) + "9,1\n"
    with pytest.raises(ValueError, match=r"line 11: expected 3 cells, as in line 1, received 2"):
        data.read(write_text(tmp_path / "s.csv", short), missing="drop")


def test_byte_order_mark_is_not_part_of_the_first_cell(tmp_path):
    for text in (b"a,b,y\n1,2,0\n3,4,1\n", b"1,2,0\n3,4,1\n"):
        path = tmp_path / "bom.csv"
        path.write_bytes(b"\xef\xbb\xbf" + text)
        got = data.read(path)
        np.testing.assert_array_equal(got.X, [[1, 2], [3, 4]])
        assert got.feature_names[0] in ("a", "column 1")


def test_a_refused_file_stops_its_digest(tmp_path, monkeypatch):
    from nnbasics.data import files

    events = []

    def digest(path, stop):
        events.append(stop)
        return files.hashlib.sha256(b"").hexdigest()

    monkeypatch.setattr(files, "_sha256", digest)
    with pytest.raises(ValueError, match="expected a number"):
        data.read(write_text(tmp_path / "b.csv", "a,y\n1,0\nx,1\n"))
    assert events[-1].is_set()  # the hashing thread is told to stop, not waited for to the end
    data.read(write_text(tmp_path / "g.csv", "a,y\n1,0\n2,1\n"))
    assert not events[-1].is_set()
    stop = files.threading.Event()
    stop.set()
    monkeypatch.undo()
    assert files._sha256(tmp_path / "g.csv", stop) == ""
    assert (
        files._sha256(tmp_path / "g.csv")
        == files.hashlib.sha256((tmp_path / "g.csv").read_bytes()).hexdigest()
    )


def test_read_csv_with_header_and_string_labels(tmp_path):
    got = data.read(write_text(tmp_path / "iris.csv", IRIS_CSV))
    np.testing.assert_array_equal(got.X, [[1, 2], [3, 4.5], [5, 6], [7, 8]])
    assert got.X.dtype == np.float32 and got.y.dtype == np.int32
    np.testing.assert_array_equal(got.y, [0, 2, 0, 1])
    assert got.classes == ("setosa", "versicolor", "virginica")
    assert got.feature_names == ("sepal", "petal") and got.target_name == "species"
    assert got.task == "classification" and got.path == str(tmp_path / "iris.csv")
    data.check_dataset(got.X, got.y, n_classes=len(got.classes))


def test_read_tsv_without_header_integer_labels_in_numeric_order(tmp_path):
    got = data.read(write_text(tmp_path / "t.tsv", "1\t2\t10\n3\t4\t2\n\n5\t6\t-1\n"))
    np.testing.assert_array_equal(got.X, [[1, 2], [3, 4], [5, 6]])
    assert got.classes == ("-1", "2", "10")  # numeric, not string, order
    np.testing.assert_array_equal(got.y, [2, 1, 0])
    assert got.feature_names == ("column 1", "column 2") and got.target_name == "column 3"


def test_read_txt_sniffs_the_delimiter(tmp_path):
    got = data.read(write_text(tmp_path / "d.txt", "a;b;c\n1;2;x\n3;4;y\n"))
    assert got.feature_names == ("a", "b") and got.classes == ("x", "y")


@pytest.mark.parametrize("target", ["sepal", 0, -3, "0"])
def test_read_target_by_name_or_index(tmp_path, target):
    text = "sepal,petal,width\n1,2.5,7\n1,3.5,8\n2,4.5,9\n"
    got = data.read(write_text(tmp_path / "d.csv", text), target=target)
    assert got.target_name == "sepal" and got.feature_names == ("petal", "width")
    np.testing.assert_array_equal(got.X, [[2.5, 7], [3.5, 8], [4.5, 9]])
    np.testing.assert_array_equal(got.y, [0, 0, 1])
    assert got.classes == ("1", "2")


def test_read_target_by_index_keeps_other_columns_as_features(tmp_path):
    got = data.read(write_text(tmp_path / "d.csv", "1,0.5,7\n2,1.5,8\n1,2.5,9\n"), target=0)
    np.testing.assert_array_equal(got.X, [[0.5, 7], [1.5, 8], [2.5, 9]])
    assert got.task == "classification" and got.classes == ("1", "2")
    assert got.target_name == "column 1" and got.feature_names == ("column 2", "column 3")


def test_read_infers_regression_and_task_can_be_forced(tmp_path):
    path = write_text(tmp_path / "r.csv", "x,y\n0,0.5\n1,1.0\n2,1.5\n")
    got = data.read(path)
    assert got.task == "regression" and got.classes is None
    assert got.y.dtype == np.float32 and got.y.shape == (3, 1)
    np.testing.assert_array_equal(got.y[:, 0], [0.5, 1.0, 1.5])
    forced = data.read(path, task="classification")
    assert forced.classes == ("0.5", "1", "1.5") and forced.y.tolist() == [0, 1, 2]
    ints = write_text(tmp_path / "i.csv", "x,y\n0,1\n1,2\n2,1\n")
    assert data.read(ints).task == "classification"
    assert data.read(ints, task="regression").y.tolist() == [[1.0], [2.0], [1.0]]
    rows = "".join(f"{i},{i}\n" for i in range(21))  # documented limit: 20 classes
    many = write_text(tmp_path / "m.csv", rows)
    assert data.read(many).task == "regression"


def test_read_npz_and_npy_pairs(tmp_path):
    X = np.arange(8.0).reshape(4, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["b", "a", "b", "a"]))
    got = data.read(tmp_path / "d.npz")
    np.testing.assert_array_equal(got.X, X)
    assert got.classes == ("a", "b") and got.y.tolist() == [1, 0, 1, 0]
    assert got.feature_names == ("X[:, 0]", "X[:, 1]") and got.target_name == "y"

    np.save(tmp_path / "d.npy", X)
    np.save(tmp_path / "d.y.npy", np.array([0.5, 1, 2, 3]))
    got = data.read(tmp_path / "d.npy")
    assert got.task == "regression" and got.y.shape == (4, 1)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array([3, 1, 3, 1]))
    got = data.read(tmp_path / "X.npy")
    assert got.task == "classification" and got.classes == ("1", "3")


def test_read_sha256_is_of_the_file_bytes_and_stable(tmp_path):
    import hashlib

    path = write_text(tmp_path / "iris.csv", IRIS_CSV)
    first, second = data.read(path), data.read(str(path))
    assert first.sha256 == second.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    other = write_text(tmp_path / "other.csv", IRIS_CSV + "9,9,setosa\n")
    assert data.read(other).sha256 != first.sha256


def test_load_path_equals_read(tmp_path):
    csv_path = write_text(tmp_path / "iris.csv", IRIS_CSV)
    tsv_path = write_text(tmp_path / "r.tsv", "sepal\tpetal\n1\t0.5\n2\t1.5\n")
    for given, kwargs in (
        (csv_path, {}),
        (str(csv_path), {}),
        (tsv_path, {}),
        (tsv_path, dict(target="petal", task="classification")),
    ):
        X, y = data.load(given, **kwargs)
        expected_X, expected_y = data.read(given, **kwargs)[:2]
        np.testing.assert_array_equal(X, expected_X)
        np.testing.assert_array_equal(y, expected_y)
        assert X.dtype == expected_X.dtype and y.dtype == expected_y.dtype
    with pytest.raises(ValueError, match="^seed: expected None for a data file, received 1"):
        data.load(csv_path, seed=1)
    with pytest.raises(ValueError, match="^target: expected None for the named set 'iris'"):
        data.load("iris", target="species")


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        (
            "e.csv",
            "a,b,c\n1,2,x\n3,,y\n",
            {},
            "^FILE, line 3, column 'b': expected a value in every cell .*, received an empty cell$",
        ),
        (
            "na.csv",
            "a,b,c\n1,2,x\n3,NA,y\n",
            {},
            "^FILE, line 3, column 'b': .*received the missing value 'NA'$",
        ),
        (
            "nan.tsv",
            "1\t2\tx\n3\tnan\ty\n",
            dict(header=False),
            "^FILE, line 2, column 2: .*missing value 'nan'$",
        ),
        ("label.csv", "a,b,c\n1,2,x\n3,4,\n", {}, "^FILE, line 3, column 'c': .*an empty cell$"),
        (
            "s.csv",
            "a,b,c\n1,2,x\n3,red,y\n",
            {},
            r"^FILE, line 3, column 'b': expected a number \(a feature; the target is column 'c'\), "
            "received 'red'$",
        ),
        ("inf.csv", "a,b,c\n1,inf,x\n3,4,y\n", {}, "^FILE, line 2, column 'b': expected a finite"),
        (
            "one.csv",
            "a,b,c\n1,2,x\n3,4,x\n",
            {},
            r"^FILE, column 'c': expected at least 2 classes, received 1 class \('x'\) in all 2 rows$",
        ),
        (
            "t.csv",
            "a,b,c\n1,2,x\n",
            dict(target="d"),
            r"^target: expected a column name \('a', 'b', 'c'\) or a column index from -3 to 2 of "
            ".*t.csv, received 'd'$",
        ),
        (
            "t.csv",
            "a,b,c\n1,2,x\n",
            dict(target=3),
            "^target: expected .* from -3 to 2 .*, received 3$",
        ),
        (
            "t.csv",
            "1,2,x\n3,4,y\n",
            dict(target="c", header=False),
            "^target: expected a column index from -3 to 2",
        ),
        (
            "r.csv",
            "a,b,c\n1,2,x\n3,4\n",
            {},
            "^FILE, line 3: expected 3 cells, as in line 1, received 2 cells$",
        ),
        ("empty.csv", "", {}, "^FILE: expected a table .*, received an empty file$"),
        ("blank.csv", "\n \n,,\n", {}, "^FILE: expected a table .*, received an empty file$"),
        (
            "c.csv",
            "a\n1\n2\n",
            {},
            "^FILE: expected at least one feature column besides the target",
        ),
        (
            "h.csv",
            "a,b,c\n",
            {},
            "^FILE: expected data rows below the header, received a header only$",
        ),
        (
            "f.csv",
            "a,b\n1,x\n2,y\n",
            dict(task="regression"),
            r"^FILE, line 2, column 'b': expected a number \(task='regression'\), received 'x'$",
        ),
        ("x.xlsx", "a", {}, "^path: expected a data file ending in .csv, .tsv, .txt, .npz, .npy"),
        ("t.csv", "a,b,c\n1,2,x\n3,4,y\n", dict(task="labels"), "^task: expected one of None"),
    ],
)
def test_read_rejects_bad_files(tmp_path, name, text, kwargs, message):
    path = write_text(tmp_path / name, text)
    with pytest.raises(ValueError, match=message.replace("FILE", re.escape(str(path)))):
        data.read(path, **kwargs)


def test_read_rejects_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match=r"nope.csv: expected a readable file, received No such"):
        data.read(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValueError, match=r"dir.csv: expected a readable file, received Is a dir"):
        data.read(tmp_path / "dir.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe1,2\n")
    with pytest.raises(ValueError, match="bin.csv: expected UTF-8 text"):
        data.read(tmp_path / "bin.csv")
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(
        ValueError,
        match=r"junk.npz: expected an .npz archive .*, received a file "
        "in another format$",
    ):
        data.read(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="^path: expected a file path"):
        data.read(3)


def test_read_rejects_bad_arrays(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.ones((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"noy.npz: expected an .npz archive holding arrays 'X' "
        r"and 'y', received arrays \['X'\]$",
    ):
        data.read(tmp_path / "noy.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1, 2], [np.nan, 3]]), y=np.array([0, 1]))
    with pytest.raises(
        ValueError,
        match=r"nan.npz, X: expected finite values in every row, "
        r"received NaN/inf in 1 row\(s\): 1$",
    ):
        data.read(tmp_path / "nan.npz")
    np.savez(tmp_path / "n.npz", X=np.ones((3, 2)), y=np.ones(2))
    with pytest.raises(ValueError, match=r"n.npz, y: expected numbers or strings of shape \(3,\)"):
        data.read(tmp_path / "n.npz")
    np.savez(tmp_path / "one.npz", X=np.ones((3, 2)), y=np.zeros(3, int))
    with pytest.raises(ValueError, match="one.npz, y: expected at least 2 classes"):
        data.read(tmp_path / "one.npz")
    with pytest.raises(ValueError, match="^target: expected None for .*one.npz"):
        data.read(tmp_path / "one.npz", target=0)
    np.save(tmp_path / "lone.npy", np.ones((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"lone.npy: expected its targets in .*lone.y.npy "
        r"\(NAME.npy holds X and NAME.y.npy beside it holds y; X.npy pairs with "
        r"y.npy\), received no such file$",
    ):
        data.read(tmp_path / "lone.npy")


def test_duplicate_column_names_are_refused_naming_line_and_columns(tmp_path):
    path = write_text(tmp_path / "d.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    for read in (data.read, data.read_features):
        with pytest.raises(ValueError, match="distinct column names") as e:
            read(path)
        message = str(e.value)
        assert "\n" not in message
        assert "line 1" in message and "'a' twice (columns 1 and 3)" in message


def test_semicolon_separated_csv_is_read(tmp_path):
    path = write_text(tmp_path / "s.csv", "a;b;y\n1;2.5;0\n3;4;1\n")
    read = data.read(path)
    assert read.feature_names == ("a", "b") and read.target_name == "y"
    assert read.X.tolist() == [[1.0, 2.5], [3.0, 4.0]] and read.y.tolist() == [0, 1]


def test_continuous_target_forced_to_classification_says_why(tmp_path):
    rows = "".join(f"{i},{i * 0.37 + 0.1:.2f}\n" for i in range(30))
    path = write_text(tmp_path / "c.csv", "x,y\n" + rows)
    with pytest.raises(ValueError, match="look continuous") as e:
        data.read(path, task="classification")
    message = str(e.value)
    assert "\n" not in message
    assert "30 distinct values" in message and "continuous" in message
    assert "task='regression'" in message
    assert data.read(path).task == "regression"


def test_whole_number_floats_stay_classes_when_forced(tmp_path):
    rows = "".join(f"{i},{i % 25}.0\n" for i in range(50))
    read = data.read(write_text(tmp_path / "w.csv", "x,y\n" + rows), task="classification")
    assert len(read.classes) == 25


def test_at_most_twenty_distinct_integers_are_inferred_as_classes(tmp_path):
    # README/docstring: integer targets with at most 20 distinct values are classes.
    for k, task in ((20, "classification"), (21, "regression")):
        path = tmp_path / f"k{k}.csv"
        path.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(k)))
        assert data.read(path).task == task
