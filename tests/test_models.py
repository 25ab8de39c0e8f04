"""Model files: save_model / load_model round trips, Model.predict, refused files."""

import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb

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
