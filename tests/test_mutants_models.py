"""Tests written for the models sample's survivors (docs/mutation-report.md, second round).

Each test pins a documented claim of ``nnbasics.models`` (``Model.read``,
``Model.columns``, ``Model.predict``, ``load_model``) that a surviving mutant
changed, with the expected value written out here.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb

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
