"""``nnbasics predict``: columns by name, target units, multi-label, output precision and refusals in one line."""

import re
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics.data import Standardizer
from tests._helpers.cli import one_line, run
from tests._helpers.features import NAMES, numbers_in, three_scales, write_table
from tests._helpers.files import write_csv, write_text
from tests._helpers.models import rewrite_model, set_first
from tests._helpers.regression import linear_problem, rmse, write_prices

# --- predict matches columns by name


def test_predict_cli_matches_columns_by_name(capsys, trained):
    m = trained / "m.npz"
    code, inorder, err = run(capsys, "predict", m, trained / "inorder.csv")
    assert code == 0, err
    assert inorder.splitlines()[0] == "label,p(0),p(1)" and len(inorder.splitlines()) == 11
    for name in ("shuffled", "headerless"):
        code, out, err = run(capsys, "predict", m, trained / f"{name}.csv")
        assert (code, out) == (0, inorder), (name, err)
    # Which column is which matters: taken by position, the shuffled file predicts otherwise.
    X = np.loadtxt(trained / "shuffled.csv", delimiter=",", skiprows=1)
    model = nb.load_model(m)
    by_position = model.predict(X)["probabilities"]
    by_name = model.predict(np.loadtxt(trained / "inorder.csv", delimiter=",", skiprows=1))
    assert not np.allclose(by_position, by_name["probabilities"], atol=1e-3)


def test_predict_cli_target_column_anywhere_and_headerless_one_more(capsys, trained):
    m = trained / "m.npz"
    _, inorder, _ = run(capsys, "predict", m, trained / "inorder.csv")
    for name in ("shuffled_target", "headerless_target"):
        code, out, err = run(capsys, "predict", m, trained / f"{name}.csv")
        assert code == 0, (name, err)
        assert out == inorder
        assert re.fullmatch(r"10 examples: accuracy \d+\.\d\d%, mean NLL \d+\.\d+", err.strip())


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("renamed", ["missing 'gamma'", "unknown 'delta'", "'alpha', 'beta', 'gamma'"]),
        ("missing", ["missing 'gamma'"]),
        ("headerless_wide", ["expected 3 feature columns or one more holding the target", "5"]),
    ],
)
def test_predict_cli_refuses_renamed_missing_or_wrong_width_in_one_line(
    capsys, trained, name, needles
):
    code, out, err = run(capsys, "predict", trained / "m.npz", trained / f"{name}.csv")
    line = one_line(err)
    assert code == 2 and out == "", err
    assert line.startswith(f"nnbasics: error: {trained / name}.csv: expected")
    for needle in needles:
        assert needle in line


def test_predict_cli_string_labels_headerless_target_column(capsys, tmp_path):
    """The documented headerless 'one more column is the target' with class names as labels."""
    X, y = three_scales()
    names = np.array(["no", "yes"])[y]
    write_table(tmp_path / "t.csv", [*NAMES, "answer"], [[*x, t] for x, t in zip(X, names)])
    m = tmp_path / "m.npz"
    argv = [
        "train",
        "--data",
        tmp_path / "t.csv",
        "--hidden-sizes",
        "8",
        "--epochs",
        "3",
        "--batch-size",
        "16",
    ]
    code, _, err = run(capsys, *argv, "--quiet", "--save", m)
    assert code == 0, err
    write_table(tmp_path / "n.csv", None, X[:8])
    write_table(tmp_path / "n1.csv", None, [[*x, t] for x, t in zip(X[:8], names)])
    write_table(
        tmp_path / "r.csv",
        ["alpha", "beta", "gamma", "species"],
        [[*x, t] for x, t in zip(X[:8], names)],
    )
    code, plain, err = run(capsys, "predict", m, tmp_path / "n.csv")
    assert code == 0, err
    code, out, err = run(capsys, "predict", m, tmp_path / "n1.csv")
    assert (code, out) == (0, plain), err
    assert "8 examples: accuracy" in err
    # A renamed target column is an unknown name, not silently dropped.
    code, out, err = run(capsys, "predict", m, tmp_path / "r.csv")
    assert code == 2 and "unknown 'species'" in one_line(err)


def test_sigmoid_from_a_file_and_predict_says_what_it_means(capsys, tmp_path):
    X, y = three_scales()
    names = np.array(["no", "yes"])[y]
    write_table(tmp_path / "t.csv", [*NAMES, "answer"], [[*x, t] for x, t in zip(X, names)])
    m = tmp_path / "m.npz"
    code, _, err = run(
        capsys, "train", "--data", tmp_path / "t.csv", "--output", "sigmoid",
        "--hidden-sizes", "8", "--epochs", "3", "--batch-size", "16", "--quiet", "--save", m,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "predict", m, tmp_path / "t.csv")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "label(no),label(yes),p(no),p(yes)"
    first = lines[1].split(",")
    assert first[0] in ("0", "1") and first[1] in ("0", "1")
    assert (first[0] == "1") == (float(first[2]) > 0.5)
    assert "multi-label (sigmoid)" in err and "several labels or none" in err
    assert re.search(r"40 examples: label accuracy [\d.]+% \(per class\), exact match", err)


def test_sigmoid_on_a_files_own_zero_one_columns(capsys, tmp_path):
    X, y = three_scales(60)
    Y = np.stack([y, 1 - y, (X[:, 0] > 0).astype(int)], axis=1)
    np.savez(tmp_path / "ml.npz", X=X, y=Y)
    m = tmp_path / "m.npz"
    code, _, err = run(
        capsys, "train", "--data", tmp_path / "ml.npz", "--output", "sigmoid",
        "--hidden-sizes", "8", "--epochs", "3", "--batch-size", "16", "--quiet", "--save", m,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "predict", m, tmp_path / "ml.npz")
    assert code == 0, err
    assert out.splitlines()[0] == "label(0),label(1),label(2),p(0),p(1),p(2)"
    assert "60 examples: label accuracy" in err
    np.savez(tmp_path / "reg.npz", X=X, y=Y * 0.5)
    code, _, err = run(capsys, "train", "--data", tmp_path / "reg.npz", "--output", "sigmoid")
    assert code == 2 and "needs a classification data set or 0/1 target columns" in one_line(err)


def test_predict_writes_float32_with_float32_precision(capsys, trained):
    code, out, err = run(capsys, "predict", trained / "m.npz", trained / "inorder.csv")
    assert code == 0, err
    cells = numbers_in(out)
    assert cells
    model = nb.load_model(trained / "m.npz")
    p = model.predict(np.loadtxt(trained / "inorder.csv", delimiter=",", skiprows=1))
    np.testing.assert_array_equal(
        np.array(cells, np.float32).reshape(10, 2), p["probabilities"].astype(np.float32)
    )
    for cell in cells:  # the shortest text that reads back to the same float32
        digits = len(cell.lstrip("-0.").replace(".", "").split("e")[0])
        assert digits <= 9, cell
        assert str(np.float32(cell)) == cell


def test_predict_cli_refuses_a_corrupt_model_in_one_line(capsys, model_dir, tmp_path):
    path = tmp_path / "nan.npz"
    rewrite_model(model_dir / "m.npz", path, set_first("layers.0.W", np.nan))
    code, out, err = run(capsys, "predict", path, model_dir / "x.csv")
    assert code == 2 and out == "" and "layers.0.W" in one_line(err)


def test_predict_never_prints_non_finite_predictions(capsys, tmp_path, model_dir):
    net = nb.MLP((2, 1), output="linear")
    params = [{"W": np.full((2, 1), 3e38, np.float32), "b": np.zeros(1, np.float32)}]
    nb.save_model(tmp_path / "huge.npz", net, params)
    code, out, err = run(capsys, "predict", tmp_path / "huge.npz", model_dir / "x.csv")
    assert code == 1 and out == ""
    assert "non-finite" in one_line(err) and "nothing was written" in err


def test_read_only_file_system_refused_by_predict(capsys, read_only_dir, model_dir):
    code, out, err = run(
        capsys,
        "predict",
        model_dir / "m.npz",
        model_dir / "x.csv",
        "--output",
        read_only_dir / "p.csv",
    )
    assert code == 2 and out == "" and "Read-only" in one_line(err)


def test_predict_output_checked_and_not_replaced(capsys, model_dir, tmp_path):
    model, data = model_dir / "m.npz", model_dir / "x.csv"
    code, out, err = run(capsys, "predict", model, data, "--output", tmp_path / "nodir" / "p.csv")
    assert code == 2 and out == "" and "existing directory" in one_line(err)
    path = tmp_path / "p.csv"
    path.write_text("keep me")
    code, _, err = run(capsys, "predict", model, data, "--output", path)
    assert code == 2 and "--overwrite" in one_line(err) and path.read_text() == "keep me"
    code, _, err = run(capsys, "predict", model, data, "--output", path, "--overwrite")
    assert code == 0, err
    assert path.read_text().splitlines()[0] == "label,p(a),p(b),p(c)"


def test_predict_into_a_closed_pipe_ends_quietly(model_dir):
    if shutil.which("head") is None:
        pytest.skip("no head command")
    proc = subprocess.run(
        f"{sys.executable} -m nnbasics predict {model_dir / 'm.npz'} {model_dir / 'x.csv'} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("label,") and proc.stdout.count("\n") == 1
    assert proc.stderr == "", proc.stderr


def test_csv_to_model_to_predictions_classification(capsys, iris_csv):
    import nnbasics as nb

    model = iris_csv / "model.npz"
    code, out, err = run(
        capsys,
        "train",
        "--data",
        str(iris_csv / "iris.csv"),
        "--lr",
        "0.01",
        "--hidden-sizes",
        "16",
        "--save",
        str(model),
        "--quiet",
    )
    assert code == 0, err
    saved = nb.load_model(model)
    assert saved.labels == ("setosa", "versicolor", "virginica")
    assert saved.meta["data"]["target"] == "species" and len(saved.meta["data"]["sha256"]) == 64

    code, out, err = run(capsys, "predict", str(model), str(iris_csv / "new.csv"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "label,p(setosa),p(versicolor),p(virginica)" and len(lines) == 7
    assert {l.split(",")[0] for l in lines[1:]} <= {"setosa", "versicolor", "virginica"}
    assert lines[1].split(",")[0] == "setosa"  # the easiest class

    preds = iris_csv / "preds.csv"
    code, out, err = run(
        capsys, "predict", str(model), str(iris_csv / "iris.csv"), "--output", str(preds)
    )
    assert code == 0 and out == "" and "150 examples: accuracy" in err
    assert float(err.split("accuracy ")[1].split("%")[0]) > 85
    assert preds.read_text().count("\n") == 151


def test_csv_to_model_to_predictions_regression_with_gaussian_output(capsys, tmp_path):
    import nnbasics as nb

    X, y = nb.data.load("sine")
    write_csv(
        tmp_path / "sine.csv",
        ["x", "y"],
        [[f"{a:.6g}", f"{b:.6g}"] for a, b in zip(X[:, 0], y[:, 0])],
    )
    model = tmp_path / "sine.npz"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        str(tmp_path / "sine.csv"),
        "--output",
        "gaussian",
        "--hidden",
        "tanh",
        "--hidden-sizes",
        "16",
        "--epochs",
        "80",
        "--batch-size",
        "50",
        "--lr",
        "0.01",
        "--save",
        str(model),
        "--quiet",
    )
    assert code == 0, err
    write_csv(tmp_path / "x.csv", ["x"], [["0.1"], ["0.9"]])
    code, out, err = run(capsys, "predict", str(model), str(tmp_path / "x.csv"))
    assert code == 0, err
    header, low, high = out.splitlines()
    assert header == "mean,std"
    assert float(high.split(",")[1]) > float(low.split(",")[1])  # noise grows with x


def test_predict_refuses_rows_with_missing_values_by_line(capsys, iris_csv):
    model = iris_csv / "model.npz"
    assert (
        run(
            capsys,
            "train",
            "--data",
            str(iris_csv / "iris.csv"),
            "--epochs",
            "2",
            "--save",
            str(model),
            "--quiet",
        )[0]
        == 0
    )
    bad = iris_csv / "bad.csv"
    write_csv(bad, ["a", "b", "c", "d"], [["1", "2", "3", "4"], ["1", "NA", "3", "4"]])
    code, out, err = run(capsys, "predict", str(model), str(bad))
    assert code == 2 and out == ""
    assert "bad.csv, line 3, column 'b'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_printed_saved_and_predicted_values_are_in_target_units(capsys, tmp_path):
    X, y = linear_problem(200, seed=2)
    model = tmp_path / "m.npz"
    data = write_prices(tmp_path / "train.csv", X, y)
    code, out, err = run(
        capsys,
        "train",
        "--data",
        data,
        "--valid",
        "0",
        "--test",
        "0",
        "--patience",
        "none",
        "--epochs",
        "3",
        "--save",
        model,
        "--quiet",
    )
    assert code == 0, err
    assert "RMSE (target units)" in out and "accuracy" not in out
    loaded = nb.load_model(model)
    np.testing.assert_allclose(loaded.target_standardizer.mean, [np.mean(y)], rtol=1e-5)
    np.testing.assert_allclose(loaded.target_standardizer.scale, [np.std(y)], rtol=1e-5)
    # All rows are the training split: its RMSE is the model's on the whole file.
    expected = rmse(loaded.predict(X)["mean"], y)
    assert loaded.meta["metrics"]["train"]["rmse"] == pytest.approx(expected, rel=1e-5)
    assert f"{expected:.4f}" in out

    code, out, err = run(capsys, "predict", model, data)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "mean"  # a linear output predicts no spread
    means = np.array([float(v) for v in lines[1:]])
    np.testing.assert_allclose(means, loaded.predict(X)["mean"][:, 0], rtol=1e-5)
    assert f"RMSE {expected:.4f} (target units)" in err and "NLL" not in err


def _model(tmp_path):
    import nnbasics as nb

    net = nb.MLP((2, 4, 3), hidden="tanh", output="softmax")
    stats = Standardizer(np.zeros(2, np.float32), np.ones(2, np.float32))
    path = tmp_path / "m.npz"
    nb.save_model(path, net, net.init(jax.random.key(0)), stats, labels=["a", "b", "c"])
    return path


def test_predict_drop_missing_names_each_predictions_line(tmp_path, capsys):
    model = _model(tmp_path)
    new = write_text(tmp_path / "new.csv", "u,v\n1,2\n3,\n\n5,6\nnan,8\n9,10\n")
    code, out, err = run(capsys, "predict", model, new)
    assert code == 2 and "\n" not in err.strip()
    assert "2 rows of 5 hold a missing value, at lines 3, 6;" in err
    code, out, err = run(capsys, "predict", model, new, "--drop-missing")
    assert code == 0, err
    rows = [line.split(",") for line in out.strip().splitlines()]
    assert rows[0][:2] == ["line", "label"] and [r[0] for r in rows[1:]] == ["2", "5", "7"]
    assert "dropped 2 rows (lines 3, 6) of" in err and "3 rows predicted" in err
    same = run(capsys, "predict", model, write_text(tmp_path / "k.csv", "u,v\n1,2\n5,6\n9,10\n"))
    assert [r.split(",", 1)[1] for r in out.strip().splitlines()[1:]] == (
        same[1].strip().splitlines()[1:]
    )  # the predictions of the rows kept are those of a file without the others
