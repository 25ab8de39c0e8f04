"""Reading users' files: duplicate names, semicolons, continuous targets forced to classes."""

import pytest

from nnbasics import data


def _write(path, text):
    path.write_text(text)
    return path


def test_duplicate_column_names_are_refused_naming_line_and_columns(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    for read in (data.read, data.read_features):
        with pytest.raises(ValueError, match="distinct column names") as e:
            read(path)
        message = str(e.value)
        assert "\n" not in message
        assert "line 1" in message and "'a' twice (columns 1 and 3)" in message


def test_semicolon_separated_csv_is_read(tmp_path):
    path = _write(tmp_path / "s.csv", "a;b;y\n1;2.5;0\n3;4;1\n")
    read = data.read(path)
    assert read.feature_names == ("a", "b") and read.target_name == "y"
    assert read.X.tolist() == [[1.0, 2.5], [3.0, 4.0]] and read.y.tolist() == [0, 1]


def test_continuous_target_forced_to_classification_says_why(tmp_path):
    rows = "".join(f"{i},{i * 0.37 + 0.1:.2f}\n" for i in range(30))
    path = _write(tmp_path / "c.csv", "x,y\n" + rows)
    with pytest.raises(ValueError, match="look continuous") as e:
        data.read(path, task="classification")
    message = str(e.value)
    assert "\n" not in message
    assert "30 distinct values" in message and "continuous" in message
    assert "task='regression'" in message
    assert data.read(path).task == "regression"


def test_whole_number_floats_stay_classes_when_forced(tmp_path):
    rows = "".join(f"{i},{i % 25}.0\n" for i in range(50))
    read = data.read(_write(tmp_path / "w.csv", "x,y\n" + rows), task="classification")
    assert len(read.classes) == 25
