"""Model files: save_model / load_model round trips, Model.read and Model.predict (columns by
name, target units), and every refused file or argument."""

import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb
from nnbasics.data import Standardizer
from tests._helpers.features import NAMES, three_scales, write_table
from tests._helpers.models import rewrite_model, set_first
from tests._helpers.regression import linear_problem, rmse

# ------------------------------------------------------------------ models: Model.read

NET3 = nb.MLP((3, 4, 2), hidden="tanh", output="softmax")


ROWS = np.array([[0.5, 1.5, -2.0], [1.0, -1.0, 3.0], [2.5, 0.0, 1.0]])


def _model(tmp_path, **kw):
    path = nb.save_model(
        tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)), labels=["a", "b"], **kw
    )
    return nb.load_model(path)


def _csv(path, header, rows):
    lines = ([",".join(header)] if header else []) + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_of_an_npz_file_takes_its_features(tmp_path):
    # Model.read's docstring: a file read_features reads (.npz: X), features as float32.
    model = _model(tmp_path)
    np.savez(tmp_path / "x.npz", X=ROWS)
    X, y = model.read(tmp_path / "x.npz")
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert y is None


def test_a_regression_model_reads_an_npz_files_real_targets(tmp_path):
    net = nb.MLP((3, 4, 1), hidden="tanh", output="linear")
    model = nb.load_model(nb.save_model(tmp_path / "m.npz", net, net.init(jax.random.key(0))))
    targets = np.array([0.25, -1.5, 3.0])
    np.savez(tmp_path / "xy.npz", X=ROWS, y=targets)
    X, y = model.read(tmp_path / "xy.npz")
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    np.testing.assert_array_equal(y, targets.astype(np.float32).reshape(-1, 1))


def test_a_regression_model_reads_whole_number_targets_as_numbers_not_classes(tmp_path):
    # Read with the model's own task: integer targets are values to predict, not labels.
    net = nb.MLP((3, 4, 1), hidden="tanh", output="linear")
    model = nb.load_model(nb.save_model(tmp_path / "m.npz", net, net.init(jax.random.key(0))))
    targets = np.array([7, 3, 7])
    np.savez(tmp_path / "xy.npz", X=ROWS, y=targets)
    _, y = model.read(tmp_path / "xy.npz")
    np.testing.assert_array_equal(y, targets.astype(np.float32).reshape(-1, 1))


def test_a_regression_model_refuses_a_text_target_instead_of_reading_classes(tmp_path):
    # Read with the model's own task: a regression model's target column of words is a
    # bad cell, not class names.
    net = nb.MLP((3, 4, 1), hidden="tanh", output="linear")
    model = nb.load_model(nb.save_model(tmp_path / "m.npz", net, net.init(jax.random.key(0))))
    rows = [[*r, c] for r, c in zip(ROWS, ["high", "low", "high"])]
    path = _csv(tmp_path / "t.csv", None, rows)
    with pytest.raises(ValueError, match="expected a number") as e:
        model.read(path)
    assert str(e.value) == (
        f"{path}, line 1, column 4: expected a number (task='regression'), received 'high'"
    )


def test_read_takes_the_class_names_of_a_labeled_file_by_name_and_by_position(tmp_path):
    # Model.columns' docstring: by name when the model has features and the file a header
    # (every other column the target, in any order); else by position, d_in + 1 columns
    # holding the target too (the last column, or the one named by target=).
    model = _model(tmp_path, features=["x", "y", "z"], meta={"data": {"target": "label"}})
    labels = np.array(["a", "b", "a"], dtype=object)
    rows = [[*r, c] for r, c in zip(ROWS, labels)]
    named = _csv(tmp_path / "named.csv", ["x", "y", "z", "label"], rows)
    X, y = model.read(named)
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == list(labels)
    other = _csv(
        tmp_path / "other.csv",
        ["z", "x", "y", "kind"],
        [[r[2], r[0], r[1], c] for r, c in zip(ROWS, labels)],
    )
    X, y = model.read(other, target="kind")
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == list(labels)
    headerless = _csv(tmp_path / "headerless.csv", None, rows)
    X, y = model.read(headerless)
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == list(labels)


def test_a_model_without_feature_names_reads_a_labeled_file_with_a_header_by_position(tmp_path):
    # No features to match the header by name: the columns are taken by position, the
    # last one (class names) the target.
    model = _model(tmp_path)
    labels = ["a", "b", "a"]
    path = _csv(
        tmp_path / "h.csv", ["u", "v", "w", "kind"], [[*r, c] for r, c in zip(ROWS, labels)]
    )
    X, y = model.read(path)
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == labels


def test_read_of_a_headerless_file_finds_the_training_targets_position(tmp_path):
    # Model.columns' docstring: in a table without a header the target is at the training
    # target's position ("column 1": the first column), else the last column.
    model = _model(tmp_path, meta={"data": {"target": "column 1"}})
    rows = [[7.0, *r] for r in ROWS]
    X, y = model.read(_csv(tmp_path / "first.csv", None, rows))
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == ["7", "7", "7"]


def test_read_refusals_name_what_the_model_expects_and_what_the_file_holds(tmp_path):
    # Model.columns' docstring: one line naming the missing and unknown columns, or the
    # widths expected and received.
    model = _model(tmp_path, features=["x", "y", "z"], meta={"data": {"target": "label"}})
    path = _csv(tmp_path / "renamed.csv", ["x", "y", "w"], ROWS)
    with pytest.raises(ValueError, match=r"expected") as e:
        model.read(path)
    assert str(e.value) == (
        f"{path}: expected the model's 3 feature columns by name ('x', 'y', 'z'; target "
        "'label'), in any order, received columns with missing 'z' and unknown 'w'"
    )
    labeled = _csv(
        tmp_path / "labeled.csv", ["x", "y", "w", "label"], [[*r, c] for r, c in zip(ROWS, "aba")]
    )
    with pytest.raises(ValueError, match=r"expected") as e:
        model.read(labeled)
    assert str(e.value).startswith(f"{labeled}: expected the model's 3 feature columns by name")
    plain = _model(tmp_path)  # no feature names: columns go by position
    np.savez(tmp_path / "narrow.npz", X=ROWS[:, :2])
    with pytest.raises(ValueError, match=r"expected") as e:
        plain.read(tmp_path / "narrow.npz")
    assert str(e.value) == (
        f"{tmp_path / 'narrow.npz'}: expected 3 feature columns, as the model was trained on, "
        "received 2 columns"
    )


def test_read_takes_a_numeric_target_named_by_target(tmp_path):
    # Model.read's docstring: target, the target column by name or index.
    model = _model(tmp_path, features=["x", "y", "z"])
    path = _csv(
        tmp_path / "v.csv",
        ["x", "v", "y", "z"],
        [[r[0], k, r[1], r[2]] for r, k in zip(ROWS, (0, 1, 1))],
    )
    X, y = model.read(path, target="v")
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    assert list(y) == ["0", "1", "1"]


def test_a_header_a_model_without_names_cannot_match_is_said_so(tmp_path):
    plain = _model(tmp_path)
    path = _csv(tmp_path / "h.csv", ["x", "y"], ROWS[:, :2])
    with pytest.raises(ValueError, match=r"expected") as e:
        plain.read(path)
    assert str(e.value) == (
        f"{path}: expected 3 feature columns or one more holding the target, as the model was "
        "trained on, received 2 columns with a header the model cannot match by name (it was "
        "trained without one)"
    )


def _rewrite_model(path, name, value):
    with np.load(path) as npz:
        data = dict(npz)
    data[name] = value
    np.savez(path, **data)


def _rewrite_header(path, field, value):
    """Sets one field of a saved model's JSON header."""
    with np.load(path) as npz:
        header = json.loads(str(npz["header"]))
    header[field] = value
    _rewrite_model(path, "header", np.array(json.dumps(header)))


def test_a_model_file_with_a_zero_scale_is_refused_naming_the_column(tmp_path):
    # load_model: the standardization's scales must be finite and positive.
    stats = nb.data.Standardizer(jnp.zeros(3), jnp.ones(3))
    path = nb.save_model(tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)), stats)
    _rewrite_model(path, "standardizer.scale", np.array([1.0, 0.0, 2.0], np.float32))
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.load_model(path)
    assert str(e.value) == (
        f"model: expected finite positive scales as standardizer.scale in {str(path)!r}, "
        "received 0.0 at column 1 (1 such)"
    )


@pytest.mark.parametrize("output", ["gaussian", "linear"])
def test_regression_predictions_are_in_target_units(output, tmp_path):
    # Model.predict's docstring: means and standard deviations in target units,
    # mean · scale + mean_y and std · scale; linear: {"mean"} only.
    net = nb.MLP((3, 4, 1), hidden="tanh", output=output)
    params = net.init(jax.random.key(0))
    raw = nb.load_model(nb.save_model(tmp_path / "raw.npz", net, params)).predict(ROWS)
    target = nb.data.Standardizer(jnp.array([1.0]), jnp.array([2.0]))
    path = nb.save_model(tmp_path / "t.npz", net, params, target_standardizer=target)
    scaled = nb.load_model(path).predict(ROWS)
    assert sorted(scaled) == (["mean", "std"] if output == "gaussian" else ["mean"])
    np.testing.assert_allclose(scaled["mean"], raw["mean"] * 2.0 + 1.0, rtol=1e-6)
    if output == "gaussian":
        np.testing.assert_allclose(scaled["std"], raw["std"] * 2.0, rtol=1e-6)


def test_a_model_file_naming_an_unknown_dtype_is_refused_whole(tmp_path):
    path = nb.save_model(tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)))
    _rewrite_header(path, "dtypes", {"layers.0.W": "float6x"})
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.load_model(path)
    assert str(e.value) == (
        f"model: expected a NumPy/JAX dtype name as dtypes['layers.0.W'] in {str(path)!r}, "
        "received 'float6x'"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            np.zeros(4, np.int32),
            "model: expected layers.0.b of dtype float32, received dtype int32",
        ),
        (
            np.zeros(5, np.float32),
            "model: expected layers.0.b of shape (4,), received shape (5,) in {path!r}",
        ),
    ],
)
def test_a_model_array_of_another_dtype_or_shape_is_refused_whole(value, message, tmp_path):
    path = nb.save_model(tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)))
    _rewrite_model(path, "layers.0.b", value)
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.load_model(path)
    assert str(e.value) == message.format(path=str(path))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "format",
            "other",
            "model: expected an nnbasics model file (format {format!r}), received {path!r} of format 'other'",
        ),
        (
            "version",
            99,
            "model: expected format version {version}, received version 99 in {path!r}",
        ),
        # a crafted value is shown cut at 80 characters of its repr
        (
            "format",
            "y" * 500,
            "model: expected an nnbasics model file (format {format!r}), received {path!r} "
            "of format '" + "y" * 79,
        ),
        (
            "version",
            "v" * 500,
            "model: expected format version {version}, received version '"
            + "v" * 79
            + " in {path!r}",
        ),
    ],
)
def test_a_model_file_of_another_format_or_version_is_refused_whole(
    field, value, message, tmp_path
):
    path = nb.save_model(tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)))
    _rewrite_header(path, field, value)
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.load_model(path)
    # The model file format written today: "nnbasics-model", version 1.
    assert str(e.value) == message.format(path=str(path), format="nnbasics-model", version=1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "dtypes",
            [1],
            "model: expected an object of dtype names as dtypes in {path!r}, received [1]",
        ),
        (
            "labels",
            ["a"],
            "model: expected 2 class names for its softmax output as labels in {path!r}, received 1 names",
        ),
    ],
)
def test_a_model_header_field_of_the_wrong_kind_is_refused_whole(field, value, message, tmp_path):
    path = nb.save_model(tmp_path / "m.npz", NET3, NET3.init(jax.random.key(0)), labels=["a", "b"])
    _rewrite_header(path, field, value)
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.load_model(path)
    assert str(e.value) == message.format(path=str(path))


def test_save_model_refuses_a_net_that_is_no_mlp(tmp_path):
    # Bad input names the argument, the expected and the received value.
    with pytest.raises(ValueError, match=r"expected") as e:
        nb.save_model(tmp_path / "m.npz", "mlp", NET3.init(jax.random.key(0)))
    assert str(e.value) == "net: expected an nnbasics.MLP, received str"


IRIS_NAMES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris_model():
    X, y = nb.data.load("iris")
    train, valid, _ = nb.data.split(jax.random.key(0), X, y, stratify=True)
    stats = nb.data.Standardizer.fit(train[0])
    net = nb.MLP((4, 8, 3), hidden="tanh")
    result = nb.fit(
        net,
        net.init(jax.random.key(1)),
        nb.optim.adam(0.05),
        (nb.data.transform(stats, train[0]), train[1]),
        epochs=30,
        batch_size=16,
        key=jax.random.key(2),
    )
    return net, result.params, stats, X, y


def test_round_trip_keeps_everything(iris_model, tmp_path):
    net, params, stats, X, _ = iris_model
    path = nb.save_model(
        tmp_path / "iris.npz", net, params, stats, IRIS_NAMES, meta={"data": "iris", "epochs": 30}
    )
    model = nb.load_model(path)
    assert model.net == net and model.labels == tuple(IRIS_NAMES)
    assert model.meta == {"data": "iris", "epochs": 30}
    chex.assert_trees_all_equal(model.params, params, strict=True)
    chex.assert_trees_all_equal(tuple(model.standardizer), tuple(stats))
    # Readable by any NumPy user: parameters by name and a JSON header.
    with np.load(path) as archive:
        assert {"layers.0.W", "layers.1.b", "standardizer.mean", "header"} <= set(archive.files)
        assert json.loads(str(archive["header"]))["format"] == "nnbasics-model"
    assert os.listdir(tmp_path) == ["iris.npz"]


def test_predict_applies_the_saved_standardization(iris_model, tmp_path):
    net, params, stats, X, y = iris_model
    model = nb.load_model(nb.save_model(tmp_path / "m.npz", net, params, stats, IRIS_NAMES))
    out = model.predict(X)
    expected = np.asarray(net.predict(params, nb.data.transform(stats, X)))
    np.testing.assert_array_equal(out["index"], expected)
    assert list(out["label"][:2]) == [IRIS_NAMES[i] for i in expected[:2]]
    np.testing.assert_allclose(out["probabilities"].sum(1), 1.0, rtol=1e-6)
    assert np.mean(out["index"] == y) > 0.9


def test_read_follows_the_header_it_is_told(tmp_path):
    # A first row of numbers is data unless the caller says it is the header.
    model = _model(tmp_path, features=["1", "2", "3"])
    path = _csv(tmp_path / "numbers.csv", ["1", "2", "3"], ROWS)
    X, _ = model.read(path, header=True)
    np.testing.assert_array_equal(X, ROWS.astype(np.float32))
    X, _ = model.read(path, header=False)
    np.testing.assert_array_equal(X[1:], ROWS.astype(np.float32))
    assert X[0].tolist() == [1.0, 2.0, 3.0]


def test_a_sigmoid_model_predicts_each_output_as_a_0_1_label(tmp_path):
    net = nb.MLP((3, 4, 2), hidden="tanh", output="sigmoid")  # two yes/no outputs
    params = net.init(jax.random.key(0))
    out = nb.load_model(nb.save_model(tmp_path / "m.npz", net, params)).predict(ROWS)
    assert sorted(out) == ["label", "probabilities"]
    p = np.asarray(jax.nn.sigmoid(net.apply(params, jnp.asarray(ROWS))))
    np.testing.assert_allclose(out["probabilities"], p, rtol=1e-6)
    np.testing.assert_array_equal(out["label"], (p > 0.5).astype(int))


def test_gaussian_model_predicts_mean_and_spread(tmp_path):
    X, y = nb.data.load("sine")
    net = nb.MLP((1, 16, 1), hidden="tanh", output="gaussian")
    r = nb.fit(
        net,
        net.init(jax.random.key(0)),
        nb.optim.adam(0.02),
        (X, y),
        epochs=200,
        batch_size=100,
        key=jax.random.key(1),
    )
    model = nb.load_model(nb.save_model(tmp_path / "sine.npz", net, r.params))
    out = model.predict(X)
    assert out["mean"].shape == out["std"].shape == (len(X), 1)
    # The data's noise grows with x: so must the predicted spread.
    order = np.argsort(X[:, 0])
    assert out["std"][order[-50:]].mean() > 1.5 * out["std"][order[:50]].mean()


def test_bfloat16_parameters_round_trip(iris_model, tmp_path):
    net, params, _, _, _ = iris_model
    low = jax.tree.map(lambda a: a.astype(jnp.bfloat16), params)
    model = nb.load_model(nb.save_model(tmp_path / "bf16.npz", net, low))
    chex.assert_trees_all_equal(model.params, low, strict=True)


def test_rows_with_nan_are_refused_by_number(iris_model, tmp_path):
    net, params, stats, X, _ = iris_model
    model = nb.load_model(nb.save_model(tmp_path / "m.npz", net, params, stats))
    bad = X[:6].copy()
    bad[2, 0], bad[5, 3] = np.nan, np.inf
    with pytest.raises(
        ValueError,
        match=r"^X: expected finite values in every row, "
        r"received NaN/inf in 2 row\(s\): 2, 5$",
    ):
        model.predict(bad)
    with pytest.raises(ValueError, match=r"row\(s\): 2, 5"):
        net.predict(params, bad)


def _rewrite(path, change):
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    change(arrays)
    np.savez(path, **arrays)


def _header(change):
    def edit(arrays):
        header = json.loads(str(arrays["header"]))
        change(header)
        arrays["header"] = np.array(json.dumps(header))

    return edit


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_header(lambda h: h.update(version=99)), r"^model: expected format version 1"),
        (_header(lambda h: h.update(format="other")), r"^model: expected an nnbasics model file"),
        (lambda a: a.pop("layers.1.W"), r"^model: expected an array 'layers.1.W'"),
        (
            lambda a: a.update({"layers.0.W": np.zeros((4, 9), np.float32)}),
            r"^model: expected layers.0.W of shape \(4, 8\)",
        ),
        (lambda a: a.pop("header"), r"^model: expected an nnbasics file with a header"),
    ],
)
def test_damaged_files_are_refused(iris_model, tmp_path, damage, message):
    net, params, stats, _, _ = iris_model
    path = nb.save_model(tmp_path / "m.npz", net, params, stats)
    _rewrite(path, damage)
    with pytest.raises(ValueError, match=message):
        nb.load_model(path)


def test_unusable_paths_and_arguments_are_refused(iris_model, tmp_path):
    net, params, stats, _, _ = iris_model
    with pytest.raises(ValueError, match=r"^model: expected an existing file"):
        nb.load_model(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=r"^model: expected a file, received the directory"):
        nb.load_model(tmp_path)
    with pytest.raises(ValueError, match=r"^path: expected a file in an existing directory"):
        nb.save_model(tmp_path / "no" / "m.npz", net, params)
    with pytest.raises(ValueError, match=r"^labels: expected 3 class names"):
        nb.save_model(tmp_path / "m.npz", net, params, labels=["a", "b"])
    with pytest.raises(ValueError, match=r"^meta: expected a JSON-able dict"):
        nb.save_model(tmp_path / "m.npz", net, params, meta={"x": object()})
    with pytest.raises(ValueError, match=r"^params\[1\]\['W'\]: expected shape"):
        nb.save_model(tmp_path / "m.npz", nb.MLP((4, 8, 2)), params)
    assert not os.path.exists(tmp_path / "m.npz")


def test_api_flow_from_a_csv_file_to_predictions(tmp_path):
    """nb.data.read -> split/standardize -> nb.fit -> save_model -> load_model -> predict."""
    X, y = nb.data.load("wine")
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    path = tmp_path / "wine.csv"
    path.write_text(
        "\n".join(
            [",".join([f"f{j}" for j in range(13)] + ["cultivar"])]
            + [",".join([f"{v:g}" for v in row] + [n]) for row, n in zip(X, names)]
        )
        + "\n"
    )
    file = nb.data.read(path, target="cultivar")
    assert file.classes == ("barbera", "barolo", "grignolino")  # sorted names
    train, valid, test = nb.data.split(jax.random.key(0), file.X, file.y, stratify=True)
    stats, train, valid, test = nb.data.standardize(train, valid, test)
    net = nb.MLP((13, 16, 3))
    result = nb.fit(
        net,
        net.init(jax.random.key(1)),
        nb.optim.adam(1e-2),
        train,
        epochs=60,
        batch_size=16,
        key=jax.random.key(2),
        valid=valid,
        patience=20,
    )
    nb.save_model(
        tmp_path / "wine.npz",
        net,
        result.params,
        stats,
        labels=file.classes,
        meta={"data": file.path, "sha256": file.sha256},
    )
    model = nb.load_model(tmp_path / "wine.npz")
    out = model.predict(file.X)
    assert np.mean(out["label"] == np.asarray(file.classes, object)[file.y]) > 0.9


# --- feature names in the model file


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


# --- features matched by name through the API


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
    assert y is None and list(y2) == [str(v) for v in three_scales()[1][:10]]
    X3, _ = model.read(trained / "headerless_target.csv")
    np.testing.assert_array_equal(X, X3)
    with pytest.raises(ValueError, match="unknown 'delta'"):
        model.read(trained / "renamed.csv")


def test_model_without_names_goes_by_position(tmp_path):
    model = nb.load_model(_tiny(tmp_path / "m.npz"))
    assert model.features is None
    X, _ = three_scales(6)
    write_table(tmp_path / "h.csv", ["x", "y", "z"], X)
    got, y = model.read(tmp_path / "h.csv")
    np.testing.assert_array_equal(got, X.astype(np.float32))
    write_table(tmp_path / "w.csv", ["x", "y"], X[:, :2])
    with pytest.raises(ValueError, match=r"expected 3 feature columns .* received 2 columns"):
        model.read(tmp_path / "w.csv")


def _net_and_params(output):
    net = nb.MLP((3, 4, 2), hidden="tanh", output=output, components=2)
    return net, net.init(jax.random.key(0))


@pytest.mark.parametrize("output", ["linear", "gaussian", "mixture"])
def test_model_maps_means_and_spreads_to_target_units(tmp_path, output):
    net, params = _net_and_params(output)
    targets = nb.data.Standardizer(np.array([300.0, -5.0]), np.array([120.0, 0.5]))
    X = np.random.default_rng(0).normal(size=(7, 3))
    plain = nb.load_model(nb.save_model(tmp_path / "a.npz", net, params)).predict(X)
    scaled = nb.load_model(
        nb.save_model(tmp_path / "b.npz", net, params, target_standardizer=targets)
    ).predict(X)
    np.testing.assert_allclose(scaled["mean"], plain["mean"] * [120.0, 0.5] + [300.0, -5.0])
    if output == "linear":
        assert set(plain) == set(scaled) == {"mean"}
    else:
        np.testing.assert_allclose(scaled["std"], plain["std"] * [120.0, 0.5], rtol=1e-6)


def test_old_model_files_load_with_unit_scale(tmp_path):
    net, params = _net_and_params("gaussian")
    path = nb.save_model(tmp_path / "old.npz", net, params)
    with np.load(path) as f:
        assert not any(name.startswith("target.") for name in f.files)
    model = nb.load_model(path)
    assert model.target_standardizer is None
    X = np.ones((2, 3))
    np.testing.assert_allclose(model.predict(X)["mean"], net.predict(params, X), rtol=1e-6)


def _rewrite_target(path, **changes):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target.scale": np.array([0.0, 1.0])}, "target.scale"),
        ({"target.scale": np.array([1.0, -2.0])}, "target.scale"),
        ({"target.scale": np.array([np.inf, 1.0])}, "target.scale"),
        ({"target.mean": np.array([np.nan, 1.0])}, "target.mean"),
        ({"target.mean": None}, "target.mean"),
        ({"target.scale": np.array([1.0])}, "target.scale"),
    ],
)
def test_bad_target_statistics_are_refused_on_load(tmp_path, changes, field):
    net, params = _net_and_params("linear")
    good = nb.data.Standardizer(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    path = nb.save_model(tmp_path / "m.npz", net, params, target_standardizer=good)
    _rewrite_target(path, **changes)
    with pytest.raises(ValueError, match=field) as e:
        nb.load_model(path)
    assert "m.npz" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("output", "stats", "field"),
    [
        ("softmax", ([0.0, 0.0], [1.0, 1.0]), "target_standardizer"),
        ("linear", ([0.0], [1.0]), "target_standardizer.mean"),
        ("linear", ([0.0, 0.0], [1.0, 0.0]), "target_standardizer.scale"),
        ("linear", ([0.0, np.nan], [1.0, 1.0]), "target_standardizer.mean"),
    ],
)
def test_save_model_refuses_bad_target_statistics(tmp_path, output, stats, field):
    net, params = _net_and_params(output)
    targets = nb.data.Standardizer(*(np.asarray(a) for a in stats))
    path = tmp_path / "m.npz"
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        nb.save_model(path, net, params, target_standardizer=targets)
    assert not path.exists()


@pytest.mark.slow
def test_python_api_recipe_round_trips(tmp_path):
    """The documented API path: fit on standardized y, save the statistics, predict in units."""
    X, y = linear_problem(300, seed=4)
    y = y[:, None]
    xs, ys = nb.data.Standardizer.fit(X), nb.data.Standardizer.fit(y)
    net = nb.MLP((5, 1), output="linear")
    r = nb.fit(
        net,
        net.init(jax.random.key(0), jax.numpy.float64),
        nb.optim.adam(0.05),
        (nb.data.transform(xs, X), nb.data.transform(ys, y)),
        epochs=40,
        batch_size=100,
        key=jax.random.key(1),
    )
    model = nb.load_model(
        nb.save_model(tmp_path / "m.npz", net, r.params, xs, target_standardizer=ys)
    )
    from sklearn.linear_model import LinearRegression

    reference = rmse(LinearRegression().fit(X, y).predict(X), y)
    assert rmse(model.predict(X)["mean"], y) <= 1.1 * reference


def set_header(key, value):
    def change(header, arrays):
        header[key] = value

    return change


CORRUPT = {
    "nan weight": (set_first("layers.0.W", np.nan), "layers.0.W"),
    "inf bias": (set_first("layers.1.b", np.inf), "layers.1.b"),
    "zero scale": (set_first("standardizer.scale", 0.0), "standardizer.scale"),
    "negative scale": (set_first("standardizer.scale", -1.0), "standardizer.scale"),
    "nan scale": (set_first("standardizer.scale", np.nan), "standardizer.scale"),
    "nan mean": (set_first("standardizer.mean", np.nan), "standardizer.mean"),
    "too few class names": (set_header("labels", ["a", "b"]), "labels"),
    "labels not a list": (set_header("labels", "abc"), "labels"),
    "unknown dtype name": (set_header("dtypes", {"layers.0.W": "float77"}), "dtypes"),
    "dtypes as a list": (set_header("dtypes", ["float32"]), "dtypes"),
    "integer dtype": (
        lambda h, a: (
            a.update({"layers.0.W": a["layers.0.W"].astype(np.int32)})
            or h["dtypes"].update({"layers.0.W": "int32"})
        ),
        "layers.0.W",
    ),
    "net as a list": (set_header("net", [2, 4, 3]), "network configuration"),
    "meta as a list": (set_header("meta", [1]), "meta"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_load_model_refuses_bad_values_naming_file_and_field(model_dir, tmp_path, case):
    change, field = CORRUPT[case]
    path = tmp_path / "bad.npz"
    rewrite_model(model_dir / "m.npz", path, change)
    with pytest.raises(ValueError, match="model: expected") as e:
        nb.load_model(path)
    assert field in str(e.value) and str(path) in str(e.value)


def test_load_model_refuses_unsupported_compression_and_bad_zip(model_dir, tmp_path):
    data = bytearray((model_dir / "m.npz").read_bytes())
    # The local file header's compression method (offset 8) set to an unknown one.
    assert data[:4] == b"PK\x03\x04"
    data[8:10] = (99).to_bytes(2, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    path = tmp_path / "compressed.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="readable .npz") as e:
        nb.load_model(path)
    assert str(path) in str(e.value)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((model_dir / "m.npz").read_bytes()[:300])
    with pytest.raises(ValueError, match="readable .npz"):
        nb.load_model(truncated)
