"""nb.data.load: the shipped, scikit-learn and synthetic data sets, and the registry."""

import numpy as np
import pytest
import sklearn.datasets

from nnbasics import data

# ---------------------------------------------------------------- loading


@pytest.mark.parametrize("name", data.names())
def test_load_matches_registry(name):
    if name == "mnist1d":
        pytest.importorskip("mnist1d")
    about = data.info(name)
    X, y = data.load(name)
    n = about.n_default
    assert isinstance(X, np.ndarray) and X.dtype == np.float32
    assert X.shape == (n, about.n_features)
    assert np.all(np.isfinite(X))
    if about.kind == "classification":
        assert y.dtype == np.int32 and y.shape == (n,)
        assert set(np.unique(y)) == set(range(about.n_classes))
        assert about.n_outputs is None and about.output == "softmax"
    else:
        assert about.kind == "regression" and about.n_classes is None
        assert y.dtype == np.float32 and y.shape == (n, about.n_outputs)
        assert np.all(np.isfinite(y))
    data.check_dataset(
        X,
        y,
        kind="classes" if about.kind == "classification" else "real",
        n_classes=about.n_classes,
        n_features=about.n_features,
        n_outputs=about.n_outputs,
    )


def test_registry_format():
    assert data.names() == tuple(data.DATASETS)
    for name in (
        "digits",
        "breast_cancer",
        "iris",
        "wine",
        "xor",
        "moons",
        "blobs",
        "sine",
        "multimodal",
    ):
        about = data.DATASETS[name]
        assert about.kind in ("classification", "regression")
        assert isinstance(about.description, str) and "\n" not in about.description
        assert isinstance(about.source, str) and about.source and "\n" not in about.source
    assert data.DATASETS["multimodal"].output == "mixture"
    assert data.DATASETS["sine"].output == "gaussian"


SHIPPED = ("digits", "breast_cancer", "iris", "wine")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_sets_equal_sklearn_loaders(name):
    bunch = getattr(sklearn.datasets, f"load_{name}")()
    X, y = data.load(name)
    np.testing.assert_array_equal(X, bunch.data.astype(np.float32), strict=True)
    np.testing.assert_array_equal(y, bunch.target.astype(np.int32), strict=True)
    X64, y64 = data.datasets._read_shipped(name)  # before the cast: the parse itself is exact
    np.testing.assert_array_equal(X64, bunch.data, strict=True)
    np.testing.assert_array_equal(y64, bunch.target, strict=True)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_sets_cite_their_source(name):
    source = data.info(name).source
    assert "\n" not in source and "scikit-learn's copy" in source
    descr = source.rsplit("sklearn/datasets/descr/", 1)[1]
    assert (data.datasets._sklearn_data_dir().parent / "descr" / descr).is_file()


@pytest.mark.parametrize(
    ("installed", "received"), [(False, "scikit-learn not installed"), (True, "no file")]
)
def test_missing_sklearn_data_file_is_one_line_value_error(
    monkeypatch, tmp_path, installed, received
):
    monkeypatch.setattr(data.datasets, "_sklearn_data_dir", lambda: tmp_path if installed else None)
    with pytest.raises(
        ValueError,
        match=rf"^name: expected 'digits' read from .*digits.csv.gz"
        rf".*, received {received}[^\n]*$",
    ):
        data.load("digits")


def test_malformed_sklearn_data_file(monkeypatch, tmp_path):
    (tmp_path / "iris.csv").write_text("2,4,a,b\n1,2,3,4,0\n5,6,7,8,1\n")
    monkeypatch.setattr(data.datasets, "_sklearn_data_dir", lambda: tmp_path)
    with pytest.raises(
        ValueError,
        match=r"^name: expected 'iris' read from .*\(150, 5\), "
        r"received shape \(2, 5\)$",
    ):
        data.load("iris")


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**31])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 100, 501])
@pytest.mark.parametrize("noise", [0.0, 0.2, 1.5])
def test_moons_and_blobs_equal_sklearn_generators(seed, n, noise):
    cases = (
        ("moons", sklearn.datasets.make_moons(n, noise=noise, random_state=seed)),
        (
            "blobs",
            sklearn.datasets.make_blobs(
                n, centers=3, n_features=2, cluster_std=noise, random_state=seed
            ),
        ),
    )
    for name, (X_ref, y_ref) in cases:
        X, y = data.datasets._SYNTHETIC[name](None, n, noise, seed)  # float64, before the cast
        np.testing.assert_array_equal(X, X_ref, strict=True)
        np.testing.assert_array_equal(y, y_ref, strict=True)
        X32, y32 = data.load(name, seed=seed, n=n, noise=noise)
        np.testing.assert_array_equal(X32, X_ref.astype(np.float32), strict=True)
        np.testing.assert_array_equal(y32, y_ref.astype(np.int32), strict=True)


def test_xor_is_the_four_points_of_the_course():
    X, y = data.load("xor")
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X4, _ = data.load("xor", n=4, seed=3)
    np.testing.assert_array_equal(X4, X)


@pytest.mark.parametrize("name", ["xor_noisy", "moons", "blobs", "sine", "multimodal"])
def test_synthetic_sets_are_deterministic_per_seed(name):
    X1, y1 = data.load(name, seed=1, n=60)
    X2, y2 = data.load(name, seed=1, n=60)
    X3, _ = data.load(name, seed=2, n=60)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape[0] == 60 and not np.array_equal(X1, X3)


def test_noise_parameter():
    X0, y0 = data.load("moons", noise=0.0, n=100)
    np.testing.assert_allclose(np.hypot(X0[y0 == 0, 0], X0[y0 == 0, 1]), 1.0, atol=1e-6)
    Xq, yq = data.load("xor_noisy", noise=0.0, n=8)
    truth = {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}
    assert [truth[tuple(p)] for p in Xq.astype(int)] == list(yq)
    assert np.bincount(yq).tolist() == [4, 4]


def test_multimodal_is_the_inverted_sine():
    X, y = data.load("multimodal", n=2000, noise=0.0)
    np.testing.assert_allclose(X, y + 0.3 * np.sin(2 * np.pi * y), atol=1e-6)
    assert np.all((y >= 0) & (y <= 1))
    # Near x = 0.5 the inverse has three branches, so y spreads across them.
    near = y[np.abs(X - 0.5) < 0.02]
    assert near.min() < 0.2 and near.max() > 0.8


def test_sine_noise_grows_with_x():
    X, y = data.load("sine", n=4000)
    resid = (y - np.sin(2 * np.pi * X)).ravel()
    low, high = resid[X.ravel() < 0.3], resid[X.ravel() > 0.7]
    assert high.std() > 2 * low.std()


def test_shipped_subset():
    X, y = data.load("digits", n=100, seed=5)
    Xa, ya = data.load("digits")
    assert X.shape == (100, 64)
    rows = {r.tobytes(): label for r, label in zip(Xa, ya)}
    assert all(rows[r.tobytes()] == label for r, label in zip(X, y))
    np.testing.assert_array_equal(X, data.load("digits", n=100, seed=5)[0])


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        (dict(name="mnist"), "name"),
        (dict(name=3), "name"),
        (dict(name="moons", seed=-1), "seed"),
        (dict(name="moons", seed=1.5), "seed"),
        (dict(name="blobs", seed=2**32), "seed"),
        (dict(name="moons", n=0), "n"),
        (dict(name="moons", n=2.0), "n"),
        (dict(name="iris", n=151), "n"),
        (dict(name="xor", n=10), "n"),
        (dict(name="moons", noise=-0.1), "noise"),
        (dict(name="moons", noise=float("nan")), "noise"),
        (dict(name="digits", noise=0.1), "noise"),
        (dict(name="xor", noise=0.1), "noise"),
    ],
)
def test_load_rejects_bad_arguments(kwargs, arg):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=rf"^{arg}: expected .*, received"):
        data.load(name, **kwargs)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="name: expected one of 'digits', .*'multimodal'"):
        data.load("mnist")
    with pytest.raises(ValueError, match="name"):
        data.info("mnist")
