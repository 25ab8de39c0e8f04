"""Users' text files read by pandas: the same values and one-line refusals, missing rows dropped.

Small files only; the 50 MB file is in benchmarks/read_csv.py.
"""

import re

import numpy as np
import pytest

from nnbasics import data


def _write(path, text):
    path.write_text(text)
    return path


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
    got = data.read(_write(tmp_path / "n.csv", text))
    expected = np.array([[float(c) for c in row] for row in cells]).astype(np.float32)
    np.testing.assert_array_equal(got.X, expected)
    np.testing.assert_array_equal(got.y, labels)
    X, names = data.read_features(_write(tmp_path / "f.csv", text))
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
    path = _write(tmp_path / "d.csv", _table(3000, bad_row=2500, quoted_newline=quoted_newline))
    line = 2502 + 2 * quoted_newline  # header, rows 0..2499, the quoted record's two lines
    with pytest.raises(ValueError, match="expected a number") as e:
        data.read(path)
    assert str(e.value) == (
        f"{path}, line {line}, column 'x2': expected a number (a feature; the target is "
        "column 'y'), received 'x'"
    )


def test_non_finite_deep_in_the_file_shows_the_cell_as_written(tmp_path):
    path = _write(tmp_path / "d.csv", _table(500, bad_row=400, cell="1e400"))
    with pytest.raises(ValueError, match=r", line 402, column 'x2': expected a finite .*'1e400'$"):
        data.read(path)


def test_ragged_rows_deep_in_the_file_are_refused(tmp_path):
    long = _table(500).replace("\n300,150.0,0\n", "\n300,150.0,0,9\n")
    with pytest.raises(ValueError, match=r"line 302: expected 3 cells, as in line 1, received 4"):
        data.read(_write(tmp_path / "long.csv", long))
    short = _table(500).replace("\n300,150.0,0\n", "\n300,150.0\n")
    for missing in ("refuse", "drop"):  # a short row is not a row with a missing value
        with pytest.raises(ValueError, match=r"line 302: expected 3 cells, .* received 2 cells$"):
            data.read(_write(tmp_path / "short.csv", short), missing=missing)


def test_true_false_cells_are_not_read_as_numbers(tmp_path):
    path = _write(tmp_path / "b.csv", "a,b,y\n1,True,0\n2,False,1\n")
    with pytest.raises(ValueError, match=r"line 2, column 'b': expected a number .*'True'$"):
        data.read(path)
    labels = data.read(_write(tmp_path / "l.csv", "a,y\n1,yes\n2,no\n3,yes\n"))
    assert labels.classes == ("no", "yes")


def test_not_utf8_beyond_the_first_rows_is_refused(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 5000 + b"3,\xff\n")
    with pytest.raises(ValueError, match=r"u.csv: expected UTF-8 text, received a byte .* 20006$"):
        data.read(path)


MISSING = "a,b,y\n1,2,0\n3,,1\n\n5,NA,0\n7,8,1\n9,nan,0\n11,12,\n13,?,1\n15,16,0\n17,null,1\n"


def test_missing_values_refused_with_count_and_first_lines(tmp_path):
    path = _write(tmp_path / "m.csv", MISSING)
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
    path = _write(tmp_path / "m.csv", MISSING)
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
    full = data.read(_write(tmp_path / "f.csv", "a,y\n1,0\n2,1\n"), missing="drop")
    assert full.dropped_lines.tolist() == [] and full.X.shape == (2, 1)


def test_missing_drop_of_every_row_and_bad_policy_are_refused(tmp_path):
    path = _write(tmp_path / "m.csv", "a,y\n1,\n,1\n")
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
    got = data.read(_write(tmp_path / "n.csv", text))
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
    got = data.read(_write(tmp_path / "t.csv", text))
    assert got.task == task and got.classes == classes
    if task == "regression":
        assert got.y[:, 0].tolist() == [float(t) for t in target]


def test_drop_keeps_integer_labels_and_lines_across_chunks(tmp_path, small_chunks):
    # line 9 also holds a cell that is not a number: dropped with its row, not refused
    text = "a,b,y\n1,2,0\n3,4,\n5,6,1\n\n7,,0\n9,10,1\n11,12,0\nred,14,?\n15,16,1\n"
    got = data.read(_write(tmp_path / "d.csv", text), missing="drop")
    assert got.task == "classification" and got.classes == ("0", "1")
    assert got.y.tolist() == [0, 1, 1, 0, 1]
    np.testing.assert_array_equal(got.X[:, 0], [1, 5, 9, 11, 15])
    assert got.dropped_lines.tolist() == [3, 6, 9]
    with pytest.raises(ValueError, match=r"line 3, column 'y': .*\(3 rows of 8 .* lines 3, 6, 9;"):
        data.read(tmp_path / "d.csv")


def test_first_bad_cell_across_chunks(tmp_path, small_chunks):
    text = "a,b,y\n" + "".join(f"{i},{i},0\n" for i in range(9)) + "9,oops,1\n10,inf,0\n"
    with pytest.raises(ValueError, match=r"line 11, column 'b': expected a number .*'oops'$"):
        data.read(_write(tmp_path / "d.csv", text))
    short = "a,b,y\n" + "".join(f"{i},{i},0\n" for i in range(9)) + "9,1\n"
    with pytest.raises(ValueError, match=r"line 11: expected 3 cells, as in line 1, received 2"):
        data.read(_write(tmp_path / "s.csv", short), missing="drop")


# --- the command line: --drop-missing in train and predict


def _cli(capsys, *argv):
    from nnbasics import cli

    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _labelled(tmp_path, n=90):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    rows = [f"{a:.4f},{b:.4f},{'abc'[i % 3]}" for i, (a, b) in enumerate(X)]
    rows[4] = rows[4].replace(rows[4].split(",")[0], "", 1)  # line 6: an empty cell
    rows[10] = "NA," + rows[10].split(",", 1)[1]  # line 12
    rows[20] = rows[20].rsplit(",", 1)[0] + ",?"  # line 22: a missing label
    return _write(tmp_path / "train.csv", "u,v,label\n" + "\n".join(rows) + "\n")


@pytest.mark.slow
def test_train_drop_missing_says_what_it_dropped(tmp_path, capsys):
    path = _labelled(tmp_path)
    quick = ["--hidden-sizes", "4", "--epochs", "2", "--batch-size", "16", "--quiet"]
    code, _, err = _cli(capsys, "train", "--data", path, *quick)
    assert code == 2 and "\n" not in err.strip() and "3 rows of 90 hold a missing value" in err
    model = tmp_path / "m.npz"
    code, _, err = _cli(capsys, "train", "--data", path, "--drop-missing", "--save", model, *quick)
    assert code == 0, err
    assert "dropped 3 rows (lines 6, 12, 22) of" in err and "87 rows kept" in err
    import nnbasics as nb

    assert nb.load_model(model).meta["data"]["dropped_rows"] == 3
    code, _, err = _cli(capsys, "train", "--dataset", "iris", "--drop-missing", *quick)
    assert code == 2 and "--drop-missing goes with --data" in err


def _model(tmp_path):
    import jax

    import nnbasics as nb
    from nnbasics.data import Standardizer

    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    stats = Standardizer(np.zeros(2, np.float32), np.ones(2, np.float32))
    path = tmp_path / "m.npz"
    nb.save_model(path, net, net.init(jax.random.key(0)), stats, labels=["a", "b", "c"])
    return path


def test_predict_drop_missing_names_each_predictions_line(tmp_path, capsys):
    model = _model(tmp_path)
    new = _write(tmp_path / "new.csv", "u,v\n1,2\n3,\n\n5,6\nnan,8\n9,10\n")
    code, out, err = _cli(capsys, "predict", model, new)
    assert code == 2 and "\n" not in err.strip()
    assert "2 rows of 5 hold a missing value, at lines 3, 6;" in err
    code, out, err = _cli(capsys, "predict", model, new, "--drop-missing")
    assert code == 0, err
    rows = [line.split(",") for line in out.strip().splitlines()]
    assert rows[0][:2] == ["line", "label"] and [r[0] for r in rows[1:]] == ["2", "5", "7"]
    assert "dropped 2 rows (lines 3, 6) of" in err and "3 rows predicted" in err
    same = _cli(capsys, "predict", model, _write(tmp_path / "k.csv", "u,v\n1,2\n5,6\n9,10\n"))
    assert [r.split(",", 1)[1] for r in out.strip().splitlines()[1:]] == (
        same[1].strip().splitlines()[1:]
    )  # the predictions of the rows kept are those of a file without the others


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
        data.read(_write(tmp_path / "b.csv", "a,y\n1,0\nx,1\n"))
    assert events[-1].is_set()  # the hashing thread is told to stop, not waited for to the end
    data.read(_write(tmp_path / "g.csv", "a,y\n1,0\n2,1\n"))
    assert not events[-1].is_set()
    stop = files.threading.Event()
    stop.set()
    monkeypatch.undo()
    assert files._sha256(tmp_path / "g.csv", stop) == ""
    assert (
        files._sha256(tmp_path / "g.csv")
        == files.hashlib.sha256((tmp_path / "g.csv").read_bytes()).hexdigest()
    )
