"""Tests for nnbasics.data: loaders, splits, standardization, dataset checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.datasets
from sklearn.preprocessing import StandardScaler

from nnbasics import data

KEY = jax.random.key(0)


@pytest.fixture(scope="module", autouse=True)
def _cache_home(tmp_path_factory):
    """Generated sets ("mnist1d") are cached in a temporary $XDG_CACHE_HOME, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


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
    data.check_dataset(X, y, kind="classes" if about.kind == "classification" else "real",
                       n_classes=about.n_classes, n_features=about.n_features,
                       n_outputs=about.n_outputs)


def test_registry_format():
    assert data.names() == tuple(data.DATASETS)
    for name in ("digits", "breast_cancer", "iris", "wine", "xor", "moons", "blobs",
                 "sine", "multimodal"):
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
    X64, y64 = data._read_shipped(name)  # before the cast: the parse itself is exact
    np.testing.assert_array_equal(X64, bunch.data, strict=True)
    np.testing.assert_array_equal(y64, bunch.target, strict=True)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_sets_cite_their_source(name):
    source = data.info(name).source
    assert "\n" not in source and "scikit-learn's copy" in source
    descr = source.rsplit("sklearn/datasets/descr/", 1)[1]
    assert (data._sklearn_data_dir().parent / "descr" / descr).is_file()


@pytest.mark.parametrize("installed, received", [(False, "scikit-learn not installed"),
                                                 (True, "no file")])
def test_missing_sklearn_data_file_is_one_line_value_error(monkeypatch, tmp_path, installed,
                                                           received):
    monkeypatch.setattr(data, "_sklearn_data_dir", lambda: tmp_path if installed else None)
    with pytest.raises(ValueError, match=rf"^name: expected 'digits' read from .*digits.csv.gz"
                                         rf".*, received {received}[^\n]*$"):
        data.load("digits")


def test_malformed_sklearn_data_file(monkeypatch, tmp_path):
    (tmp_path / "iris.csv").write_text("2,4,a,b\n1,2,3,4,0\n5,6,7,8,1\n")
    monkeypatch.setattr(data, "_sklearn_data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"^name: expected 'iris' read from .*\(150, 5\), "
                                         r"received shape \(2, 5\)$"):
        data.load("iris")


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**31])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 100, 501])
@pytest.mark.parametrize("noise", [0.0, 0.2, 1.5])
def test_moons_and_blobs_equal_sklearn_generators(seed, n, noise):
    cases = (("moons", sklearn.datasets.make_moons(n, noise=noise, random_state=seed)),
             ("blobs", sklearn.datasets.make_blobs(n, centers=3, n_features=2,
                                                   cluster_std=noise, random_state=seed)))
    for name, (X_ref, y_ref) in cases:
        X, y = data._SYNTHETIC[name](None, n, noise, seed)  # float64, before the cast
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


@pytest.mark.parametrize("kwargs, arg", [
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
])
def test_load_rejects_bad_arguments(kwargs, arg):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=rf"^{arg}: expected .*, received"):
        data.load(name, **kwargs)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="name: expected one of 'digits', .*'multimodal'"):
        data.load("mnist")
    with pytest.raises(ValueError, match="name"):
        data.info("mnist")


# ---------------------------------------------------------------- splits


def _row_ids(X):
    return [tuple(r) for r in np.asarray(X)]


@pytest.mark.parametrize("n, valid, test", [(100, 0.15, 0.15), (37, 0.2, 0.1),
                                            (10, 0.0, 0.3), (1797, 0.1, 0.2)])
def test_split_partitions_every_row_once(n, valid, test):
    X = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    train, va, te = data.split(KEY, X, y, valid=valid, test=test)
    sizes = [len(part[0]) for part in (train, va, te)]
    assert sum(sizes) == n
    assert sizes[1] == int(np.floor(n * valid + 0.5))
    assert abs(sizes[2] - n * test) <= 1
    ids = np.concatenate([part[1] for part in (train, va, te)])
    assert sorted(ids.tolist()) == list(range(n))
    for Xs, ys in (train, va, te):
        np.testing.assert_array_equal(Xs[:, 0], 2 * ys)  # rows stay paired
    if valid == 0:
        assert va[0].shape == (0, 2) and va[1].shape == (0,)


def test_split_is_deterministic_and_shuffles():
    X, y = data.load("iris")
    a = data.split(KEY, X, y)
    b = data.split(jax.random.key(0), X, y)
    c = data.split(jax.random.key(1), X, y)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa[0], pb[0])
        np.testing.assert_array_equal(pa[1], pb[1])
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][1], np.sort(a[0][1]))  # iris is sorted by class


def test_split_accepts_legacy_keys_and_jax_arrays():
    X, y = data.load("wine")
    train, _, _ = data.split(jax.random.PRNGKey(0), jnp.asarray(X), jnp.asarray(y))
    assert isinstance(train[0], jax.Array) and train[0].shape[1] == 13


@pytest.mark.parametrize("name, valid, test", [("digits", 0.15, 0.15), ("wine", 0.2, 0.1),
                                               ("breast_cancer", 0.0, 0.25),
                                               ("iris", 0.33, 0.33)])
def test_stratified_split_keeps_class_proportions(name, valid, test):
    X, y = data.load(name)
    parts = data.split(jax.random.key(7), X, y, valid=valid, test=test, stratify=True)
    counts = np.bincount(y)
    for (_, ys), frac in zip(parts, (1 - valid - test, valid, test)):
        got = np.bincount(ys, minlength=len(counts))
        assert np.all(np.abs(got - counts * frac) <= 1), (got, counts * frac)
    assert sum(len(p[1]) for p in parts) == len(y)
    X_all = np.concatenate([p[0] for p in parts])
    assert sorted(_row_ids(X_all)) == sorted(_row_ids(X))


def test_stratified_regression_targets_rejected():
    X, y = data.load("sine")
    with pytest.raises(ValueError, match="^y: expected integer class labels"):
        data.split(KEY, X, y, stratify=True)


@pytest.mark.parametrize("kwargs, arg", [
    (dict(valid=-0.1), "valid"),
    (dict(valid=1.0), "valid"),
    (dict(test=1.2), "test"),
    (dict(test="0.1"), "test"),
    (dict(valid=0.6, test=0.4), r"valid \+ test"),
    (dict(stratify=1), "stratify"),
])
def test_split_rejects_bad_fractions(kwargs, arg):
    X, y = data.load("iris")
    with pytest.raises(ValueError, match=rf"^{arg}: expected"):
        data.split(KEY, X, y, **kwargs)


def test_split_rejects_bad_inputs():
    X, y = data.load("iris")
    with pytest.raises(ValueError, match="^key: expected a JAX PRNG key"):
        data.split(0, X, y)
    with pytest.raises(ValueError, match="^key: expected"):
        data.split(np.zeros(3, np.uint32), X, y)
    with pytest.raises(ValueError, match="^y: expected 150 rows"):
        data.split(KEY, X, y[:-1])
    with pytest.raises(ValueError, match="^X: expected an array"):
        data.split(KEY, [[1.0]], y)
    with pytest.raises(ValueError, match=r"^X: expected enough rows.*received 2 rows"):
        data.split(KEY, X[:2], y[:2])
    with pytest.raises(ValueError, match="^X: expected enough rows"):
        data.split(KEY, *data.load("xor"), stratify=True)  # 2 per class: no test row


# ---------------------------------------------------------------- standardization


def test_standardizer_equals_sklearn_and_uses_train_only():
    X, y = data.load("wine")
    X = X.astype(np.float64)
    X[:, 3] = 2.5  # a constant column must get scale 1, not 0
    train, valid, _ = data.split(KEY, X, y)
    stats = data.Standardizer.fit(train[0])
    ref = StandardScaler().fit(train[0])
    np.testing.assert_allclose(stats.mean, ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(stats.scale, ref.scale_, rtol=1e-12)
    assert stats.scale[3] == 1.0
    np.testing.assert_allclose(data.transform(stats, valid[0]), ref.transform(valid[0]),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(data.inverse_transform(stats, data.transform(stats, valid[0])),
                               valid[0], rtol=1e-12)
    assert not np.allclose(stats.mean, X.mean(axis=0))  # fitted on train, not all rows


def test_standardize_three_splits_and_jit():
    X, y = data.load("breast_cancer")
    parts = data.split(KEY, X, y)
    stats, train, valid, test = data.standardize(*parts)
    np.testing.assert_allclose(np.mean(train[0], axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(np.std(train[0], axis=0), 1.0, atol=1e-4)
    assert valid[0].shape == parts[1][0].shape and test[1] is parts[2][1]
    jitted = jax.jit(data.transform)(stats, parts[2][0])
    np.testing.assert_allclose(jitted, test[0], rtol=1e-6)


def test_standardizer_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"^X: expected an array of shape \(n, d\)"):
        data.Standardizer.fit(np.ones(5))
    with pytest.raises(ValueError, match="^X: expected at least one row"):
        data.Standardizer.fit(np.ones((0, 3)))
    with pytest.raises(ValueError, match="^X: expected finite values"):
        data.Standardizer.fit(np.array([[1.0, np.nan]]))
    stats = data.Standardizer.fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="^X: expected 3 features"):
        data.transform(stats, np.ones((2, 4)))
    with pytest.raises(ValueError, match="^Z: expected 3 features"):
        data.inverse_transform(stats, np.ones((2, 2)))


# ---------------------------------------------------------------- check_dataset


def test_check_dataset_accepts_each_kind():
    X = np.zeros((5, 3), np.float32)
    data.check_dataset(X, np.array([0, 1, 2, 1, 0]), n_classes=3, n_features=3)
    data.check_dataset(X, np.array([[0, 1], [1, 1], [0, 0], [1, 0], [0, 0]], np.float32),
                       kind="binary", n_outputs=2)
    data.check_dataset(X, np.ones(5), kind="binary")
    data.check_dataset(X, np.ones((5, 1)), kind="real", n_outputs=1)
    data.check_dataset(jnp.asarray(X), jnp.arange(5) % 2, n_classes=2)


def test_check_dataset_works_under_jit():
    def f(X, y):
        data.check_dataset(X, y, n_classes=2, n_features=3)
        return X.sum()

    jax.jit(f)(jnp.zeros((4, 3)), jnp.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="^X: expected 3 features"):
        jax.jit(f)(jnp.zeros((4, 2)), jnp.array([0, 1, 1, 0]))


X5 = np.zeros((5, 3))


@pytest.mark.parametrize("X, y, kwargs, message", [
    (np.zeros(5), np.zeros(5, int), {}, r"^X: expected an array of shape \(n, d\)"),
    (X5.astype(bool), np.zeros(5, int), {}, "^X: expected real-valued features"),
    (np.array([[0.0, np.inf, 1.0]] * 5), np.zeros(5, int), {}, "^X: expected finite values"),
    (np.full((5, 3), np.nan), np.zeros(5, int), {}, "^X: expected finite"),
    (X5, np.zeros(5, int), dict(n_features=4), "^X: expected 4 features"),
    (X5, np.zeros(4, int), {}, "^y: expected 5 rows, as many as X"),
    (X5, np.zeros(5), {}, r"^y: expected integer class labels of shape \(5,\)"),
    (X5, np.zeros((5, 1), int), {}, "^y: expected integer class labels"),
    (X5, np.array([0, 1, 2, 3, 0]), dict(n_classes=3),
     "^y: expected labels at least 0 and below 3, received labels from 0 to 3"),
    (X5, np.array([0, -1, 0, 0, 0]), {}, "^y: expected labels at least 0"),
    (X5, np.array([0, 1, 2, 0.5, 1]), dict(kind="binary"), r"^y: expected targets in \{0, 1\}"),
    (X5, np.ones((5, 2)), dict(kind="binary", n_outputs=3), r"^y: expected targets of shape \(5, 3\)"),
    (X5, np.ones((5, 1, 1)), dict(kind="real"), "^y: expected targets of shape"),
    (X5, np.array([1.0, np.nan, 0, 0, 0]), dict(kind="real"), "^y: expected finite values"),
    (X5, np.zeros(5, int), dict(kind="labels"), "^kind: expected one of"),
    (X5, np.zeros(5, int), dict(n_classes=0), "^n_classes: expected a positive integer"),
    (X5, np.zeros(5, int), dict(n_features=2.0), "^n_features: expected a positive integer"),
])
def test_check_dataset_rejects(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.check_dataset(X, y, **kwargs)


def test_check_dataset_uses_given_names():
    with pytest.raises(ValueError, match=r"^valid\[1\]: expected 5 rows, as many as valid\[0\]"):
        data.check_dataset(X5, np.zeros(3, int), name_X="valid[0]", name_y="valid[1]")
