"""Issue 16, points 1, 3 and 12: features by name, multi-label from the CLI, output precision, --help.

Each test backs a row of docs/reliability.md.
"""

import argparse
import json
import re

import jax
import numpy as np
import pytest
from test_reliability_cli import one_line, run

import nnbasics as nb
from nnbasics import cli
from nnbasics.data import Standardizer

NAMES = ["alpha", "beta", "gamma"]


def _write(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _data(n=40, seed=0):
    """Three features of very different scales, so that a column swap changes the predictions."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * np.array([1.0, 10.0, 100.0]) + np.array([0.0, 5.0, -50.0])
    y = (X[:, 0] + X[:, 1] / 10 - X[:, 2] / 100 > 0.5).astype(int)
    return np.round(X, 4), y


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by the CLI on a CSV with a header (integer class labels)."""
    d = tmp_path_factory.mktemp("byname")
    X, y = _data()
    _write(d / "train.csv", [*NAMES, "label"], [[*x, t] for x, t in zip(X, y)])
    code = cli.main(
        ["train", "--data", str(d / "train.csv"), "--target", "label", "--hidden-sizes", "8"]
        + ["--epochs", "3", "--batch-size", "16", "--quiet", "--save", str(d / "m.npz")]
    )
    assert code == 0
    X_new = X[:10]
    _write(d / "inorder.csv", NAMES, X_new)
    order = [2, 0, 1]
    _write(d / "shuffled.csv", [NAMES[j] for j in order], X_new[:, order])
    _write(
        d / "shuffled_target.csv",
        ["label", "gamma", "alpha", "beta"],
        [[t, *x[order]] for x, t in zip(X_new, y)],
    )
    _write(d / "renamed.csv", ["alpha", "beta", "delta"], X_new)
    _write(d / "missing.csv", ["alpha", "beta"], X_new[:, :2])
    _write(d / "headerless.csv", None, X_new)
    _write(d / "headerless_target.csv", None, [[*x, t] for x, t in zip(X_new, y)])
    _write(d / "headerless_wide.csv", None, [[*x, t, 0] for x, t in zip(X_new, y)])
    return d


# --- point 1: the model file carries the names


def test_model_file_carries_feature_names(trained):
    model = nb.load_model(trained / "m.npz")
    assert model.features == tuple(NAMES)
    assert model.target == "label"
    with np.load(trained / "m.npz") as f:
        assert json.loads(str(f["header"]))["features"] == NAMES


def _tiny(path, **kw):
    net = nb.MLP((3, 4, 2), hidden="tanh", output="softmax")
    params = net.init(jax.random.key(0))
    stats = Standardizer(np.zeros(3, np.float32), np.ones(3, np.float32))
    nb.save_model(path, net, params, stats, labels=["no", "yes"], **kw)
    return path


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (["a", "b"], r"features: expected 3 feature names, one per input, received 2 names"),
        (
            ["a", "b", "a"],
            r"features: expected distinct feature names, received 'a' more than once",
        ),
        (["a", "", "c"], r"features: expected a list of 3 non-empty feature names"),
        ("abc", r"features: expected a list of 3 feature names"),
    ],
)
def test_save_model_checks_feature_names(tmp_path, features, message):
    with pytest.raises(ValueError, match=message):
        _tiny(tmp_path / "m.npz", features=features)
    assert not (tmp_path / "m.npz").exists()


def test_old_model_files_take_names_from_meta_and_bad_header_names_are_refused(tmp_path):
    path = _tiny(tmp_path / "m.npz", meta={"data": {"features": NAMES, "target": "label"}})
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(str(arrays.pop("header")))
    del header["features"]  # as written before the field existed
    np.savez(tmp_path / "old.npz", header=np.array(json.dumps(header)), **arrays)
    assert nb.load_model(tmp_path / "old.npz").features == tuple(NAMES)
    # An old file of a headerless training file recorded placeholders: by position.
    header["meta"]["data"]["features"] = ["column 1", "column 2", "column 3"]
    np.savez(tmp_path / "old2.npz", header=np.array(json.dumps(header)), **arrays)
    assert nb.load_model(tmp_path / "old2.npz").features is None
    header["features"] = ["a", "b"]
    np.savez(tmp_path / "bad.npz", header=np.array(json.dumps(header)), **arrays)
    with pytest.raises(ValueError, match=r"features in .*bad.npz.*: expected 3 feature names"):
        nb.load_model(tmp_path / "bad.npz")


# --- point 1: predict matches by name (CLI)


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
    X, y = _data()
    names = np.array(["no", "yes"])[y]
    _write(tmp_path / "t.csv", [*NAMES, "answer"], [[*x, t] for x, t in zip(X, names)])
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
    _write(tmp_path / "n.csv", None, X[:8])
    _write(tmp_path / "n1.csv", None, [[*x, t] for x, t in zip(X[:8], names)])
    _write(
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


# --- point 1: the API


def test_api_predict_takes_a_dataframe_by_name(trained):
    pd = pytest.importorskip("pandas")
    model = nb.load_model(trained / "m.npz")
    X = np.loadtxt(trained / "inorder.csv", delimiter=",", skiprows=1)
    expected = model.predict(X)["probabilities"]
    frame = pd.DataFrame(X[:, [1, 2, 0]], columns=["beta", "gamma", "alpha"])
    np.testing.assert_array_equal(model.predict(frame)["probabilities"], expected)
    frame["label"] = 1  # the training target is left out
    np.testing.assert_array_equal(model.predict(frame)["probabilities"], expected)
    with pytest.raises(
        ValueError, match=r"^X: expected .* received columns with missing 'alpha' and unknown 'a'$"
    ):
        model.predict(frame.rename(columns={"alpha": "a"}))
    frame["alpha"] = "x"
    with pytest.raises(
        ValueError, match=r"^X: expected numeric feature columns, received a DataFrame"
    ):
        model.predict(frame)


def test_api_read_matches_a_file_by_name(trained):
    model = nb.load_model(trained / "m.npz")
    X, y = model.read(trained / "inorder.csv")
    X2, y2 = model.read(trained / "shuffled_target.csv")
    np.testing.assert_array_equal(X, X2)
    assert y is None and list(y2) == [str(v) for v in _data()[1][:10]]
    X3, _ = model.read(trained / "headerless_target.csv")
    np.testing.assert_array_equal(X, X3)
    with pytest.raises(ValueError, match="unknown 'delta'"):
        model.read(trained / "renamed.csv")


def test_model_without_names_goes_by_position(tmp_path):
    model = nb.load_model(_tiny(tmp_path / "m.npz"))
    assert model.features is None
    X, _ = _data(6)
    _write(tmp_path / "h.csv", ["x", "y", "z"], X)
    got, y = model.read(tmp_path / "h.csv")
    np.testing.assert_array_equal(got, X.astype(np.float32))
    _write(tmp_path / "w.csv", ["x", "y"], X[:, :2])
    with pytest.raises(ValueError, match=r"expected 3 feature columns .* received 2 columns"):
        model.read(tmp_path / "w.csv")


# --- point 3: --output sigmoid (multi-label) from the CLI


CLASSIFICATION_SETS = [n for n in nb.data.names() if nb.data.info(n).kind == "classification"]


@pytest.mark.parametrize(
    "dataset",
    # Two sets (multi-class and binary) in the quick suite, every other one under -m slow.
    [
        n if n in ("iris", "breast_cancer") else pytest.param(n, marks=pytest.mark.slow)
        for n in CLASSIFICATION_SETS
    ],
)
def test_train_sigmoid_on_every_classification_set(capsys, tmp_path, dataset):
    m = tmp_path / "m.npz"
    # xor's 4 examples: no held-out splits.
    small = ["--valid", "0", "--test", "0", "--patience", "none", "--batch-size", "4"]
    code, out, err = run(
        capsys, "train", "--dataset", dataset, "--output", "sigmoid", "--hidden-sizes", "4",
        "--epochs", "2", "--quiet", "--save", m, *(small if dataset == "xor" else []),
    )  # fmt: skip
    assert code == 0, err
    model = nb.load_model(m)
    assert model.net.output == "sigmoid" and model.net.sizes[-1] == len(model.labels)


def test_sigmoid_from_a_file_and_predict_says_what_it_means(capsys, tmp_path):
    X, y = _data()
    names = np.array(["no", "yes"])[y]
    _write(tmp_path / "t.csv", [*NAMES, "answer"], [[*x, t] for x, t in zip(X, names)])
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
    X, y = _data(60)
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


# --- point 12: numbers with their dtype's precision; each default once in --help


def _numbers(text):
    return [c for line in text.splitlines()[1:] for c in line.split(",") if "." in c]


def test_predict_writes_float32_with_float32_precision(capsys, trained):
    code, out, err = run(capsys, "predict", trained / "m.npz", trained / "inorder.csv")
    assert code == 0, err
    cells = _numbers(out)
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


def test_history_csv_writes_float32_with_float32_precision(capsys, tmp_path):
    h = tmp_path / "h.csv"
    code, _, err = run(
        capsys, "train", "--dataset", "iris", "--hidden-sizes", "4", "--epochs", "2",
        "--quiet", "--history", h,
    )  # fmt: skip
    assert code == 0, err
    cells = _numbers(h.read_text())
    assert len(cells) >= 4
    for cell in cells:
        assert str(np.float32(cell)) == cell, cell
        assert len(cell.lstrip("-0.").replace(".", "").split("e")[0]) <= 9, cell


def _helps(parser):
    """(command, option, formatted help text) of every option of every subcommand."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        formatter = p._get_formatter()
        for action in p._actions:
            if action.help and action.option_strings:
                yield name, action.option_strings[-1], formatter._expand_help(action)


def test_help_shows_each_default_once():
    helps = list(_helps(cli.build_parser()))
    assert len({c for c, _, _ in helps}) >= 3
    for command, option, text in helps:
        assert text.lower().count("default") <= 1, (command, option, text)
        assert "(default: None)" not in text and "(default: False)" not in text
    shown = {(c, o): t for c, o, t in helps}
    assert shown["train", "--epochs"].endswith("(default: 100)")
    assert shown["train", "--hidden-sizes"].endswith("(default: 256)")
    assert "(default: digits)" in shown["train", "--dataset"]


def test_defaults_formatter_adds_a_default_only_where_none_is_stated():
    from nnbasics.cli._common import DefaultsFormatter, Parser

    p = Parser(prog="x", formatter_class=DefaultsFormatter)
    p.add_argument("--stated", type=int, default=3, help="a number (default: 3)")
    p.add_argument("--plain", type=int, default=4, help="a number")
    p.add_argument("--pair", default=(1, 2), help="widths")
    p.add_argument("--off", action="store_true", help="a switch")
    p.add_argument("--unset", default=None, help="a path")
    text = " ".join(p.format_help().split())
    assert text.count("default") == 3
    assert "a number (default: 3) --plain" in text and "a number (default: 4)" in text
    assert "widths (default: 1,2)" in text
    assert "a switch --unset" in text and text.endswith("a path")


@pytest.mark.parametrize("command", ["train", "predict", "gradcheck", "bench", "launch"])
def test_help_text_of_every_command_states_each_default_once(capsys, command):
    """The printed --help, forwarded commands included: no option entry says "default" twice."""
    code = 0
    try:
        code = cli.main([command, "--help"])
    except SystemExit as e:  # a forwarded command's argparse may exit itself
        code = e.code or 0
    assert code == 0
    out = capsys.readouterr().out
    entries = re.split(r"\n(?=  -)", out)
    assert len(entries) > 2, out
    for entry in entries:
        assert entry.lower().count("default") <= 1, entry
        assert "(default: None)" not in entry and "(default: False)" not in entry, entry
