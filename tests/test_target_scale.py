"""Regression on the targets' own scale (issue 16, point 2).

Targets are standardized with the training split's statistics, which the
model file carries (checked on load); predictions and spreads come back in
target units; a linear output reports no invented spread.
"""

import csv

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import cli


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _linear_problem(n, seed):
    """y = 300 + 120·s + noise(10), s the standardized sum of 5 normal features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    s = X.sum(axis=1) / np.sqrt(5)
    return X, 300 + 120 * s + rng.normal(0, 10, n)


def _write(path, X, y):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"x{j}" for j in range(X.shape[1])] + ["price"])
        writer.writerows([[f"{v:.6f}" for v in row] + [f"{t:.6f}"] for row, t in zip(X, y)])
    return path


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.ravel(a) - np.ravel(b)) ** 2)))


@pytest.mark.slow
def test_cli_defaults_are_within_twice_linear_regression(capsys, tmp_path):
    from sklearn.linear_model import LinearRegression

    X, y = _linear_problem(800, seed=0)
    X_new, y_new = _linear_problem(400, seed=1)
    model = tmp_path / "m.npz"
    code, out, err = run(
        capsys, "train", "--data", _write(tmp_path / "train.csv", X, y), "--save", model, "--quiet"
    )
    assert code == 0, err
    ours = _rmse(nb.load_model(model).predict(X_new)["mean"], y_new)
    reference = _rmse(LinearRegression().fit(X, y).predict(X_new), y_new)
    assert ours <= 2 * reference, (ours, reference)


@pytest.mark.slow
def test_printed_saved_and_predicted_values_are_in_target_units(capsys, tmp_path):
    X, y = _linear_problem(200, seed=2)
    model = tmp_path / "m.npz"
    data = _write(tmp_path / "train.csv", X, y)
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
    expected = _rmse(loaded.predict(X)["mean"], y)
    assert loaded.meta["metrics"]["train"]["rmse"] == pytest.approx(expected, rel=1e-5)
    assert f"{expected:.4f}" in out

    code, out, err = run(capsys, "predict", model, data)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "mean"  # a linear output predicts no spread
    means = np.array([float(v) for v in lines[1:]])
    np.testing.assert_allclose(means, loaded.predict(X)["mean"][:, 0], rtol=1e-5)
    assert f"RMSE {expected:.4f} (target units)" in err and "NLL" not in err


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


def _rewrite(path, **changes):
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
    _rewrite(path, **changes)
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
    X, y = _linear_problem(300, seed=4)
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

    reference = _rmse(LinearRegression().fit(X, y).predict(X), y)
    assert _rmse(model.predict(X)["mean"], y) <= 1.1 * reference
