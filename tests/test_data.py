"""Tests for nnbasics.data: loaders, data files, splits, standardization, dataset checks."""

import re

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


# ---------------------------------------------------------------- splits


def _row_ids(X):
    return [tuple(r) for r in np.asarray(X)]


@pytest.mark.parametrize(
    ("n", "valid", "test"), [(100, 0.15, 0.15), (37, 0.2, 0.1), (10, 0.0, 0.3), (1797, 0.1, 0.2)]
)
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


@pytest.mark.parametrize(
    ("name", "valid", "test"),
    [
        ("digits", 0.15, 0.15),
        ("wine", 0.2, 0.1),
        ("breast_cancer", 0.0, 0.25),
        ("iris", 0.33, 0.33),
    ],
)
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


@pytest.mark.parametrize(
    ("kwargs", "arg"),
    [
        (dict(valid=-0.1), "valid"),
        (dict(valid=1.0), "valid"),
        (dict(test=1.2), "test"),
        (dict(test="0.1"), "test"),
        (dict(valid=0.6, test=0.4), r"valid \+ test"),
        (dict(stratify=1), "stratify"),
    ],
)
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
    np.testing.assert_allclose(
        data.transform(stats, valid[0]), ref.transform(valid[0]), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        data.inverse_transform(stats, data.transform(stats, valid[0])), valid[0], rtol=1e-12
    )
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
    data.check_dataset(
        X,
        np.array([[0, 1], [1, 1], [0, 0], [1, 0], [0, 0]], np.float32),
        kind="binary",
        n_outputs=2,
    )
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


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "message"),
    [
        (np.zeros(5), np.zeros(5, int), {}, r"^X: expected an array of shape \(n, d\)"),
        (X5.astype(bool), np.zeros(5, int), {}, "^X: expected real-valued features"),
        (np.array([[0.0, np.inf, 1.0]] * 5), np.zeros(5, int), {}, "^X: expected finite values"),
        (np.full((5, 3), np.nan), np.zeros(5, int), {}, "^X: expected finite"),
        (X5, np.zeros(5, int), dict(n_features=4), "^X: expected 4 features"),
        (X5, np.zeros(4, int), {}, "^y: expected 5 rows, as many as X"),
        (X5, np.zeros(5), {}, r"^y: expected integer class labels of shape \(5,\)"),
        (X5, np.zeros((5, 1), int), {}, "^y: expected integer class labels"),
        (
            X5,
            np.array([0, 1, 2, 3, 0]),
            dict(n_classes=3),
            "^y: expected labels at least 0 and below 3, received labels from 0 to 3",
        ),
        (X5, np.array([0, -1, 0, 0, 0]), {}, "^y: expected labels at least 0"),
        (X5, np.array([0, 1, 2, 0.5, 1]), dict(kind="binary"), r"^y: expected targets in \{0, 1\}"),
        (
            X5,
            np.ones((5, 2)),
            dict(kind="binary", n_outputs=3),
            r"^y: expected targets of shape \(5, 3\)",
        ),
        (X5, np.ones((5, 1, 1)), dict(kind="real"), "^y: expected targets of shape"),
        (X5, np.array([1.0, np.nan, 0, 0, 0]), dict(kind="real"), "^y: expected finite values"),
        (X5, np.zeros(5, int), dict(kind="labels"), "^kind: expected one of"),
        (X5, np.zeros(5, int), dict(n_classes=0), "^n_classes: expected a positive integer"),
        (X5, np.zeros(5, int), dict(n_features=2.0), "^n_features: expected a positive integer"),
    ],
)
def test_check_dataset_rejects(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.check_dataset(X, y, **kwargs)


def test_check_dataset_uses_given_names():
    with pytest.raises(ValueError, match=r"^valid\[1\]: expected 5 rows, as many as valid\[0\]"):
        data.check_dataset(X5, np.zeros(3, int), name_X="valid[0]", name_y="valid[1]")


# ---------------------------------------------------------------- data files


def _write(path, text):
    path.write_text(text)
    return path


IRIS_CSV = "sepal,petal,species\n1.0,2,setosa\n3,4.5,virginica\n5,6,setosa\n7,8,versicolor\n"


def test_read_csv_with_header_and_string_labels(tmp_path):
    got = data.read(_write(tmp_path / "iris.csv", IRIS_CSV))
    np.testing.assert_array_equal(got.X, [[1, 2], [3, 4.5], [5, 6], [7, 8]])
    assert got.X.dtype == np.float32 and got.y.dtype == np.int32
    np.testing.assert_array_equal(got.y, [0, 2, 0, 1])
    assert got.classes == ("setosa", "versicolor", "virginica")
    assert got.feature_names == ("sepal", "petal") and got.target_name == "species"
    assert got.task == "classification" and got.path == str(tmp_path / "iris.csv")
    data.check_dataset(got.X, got.y, n_classes=len(got.classes))


def test_read_tsv_without_header_integer_labels_in_numeric_order(tmp_path):
    got = data.read(_write(tmp_path / "t.tsv", "1\t2\t10\n3\t4\t2\n\n5\t6\t-1\n"))
    np.testing.assert_array_equal(got.X, [[1, 2], [3, 4], [5, 6]])
    assert got.classes == ("-1", "2", "10")  # numeric, not string, order
    np.testing.assert_array_equal(got.y, [2, 1, 0])
    assert got.feature_names == ("column 1", "column 2") and got.target_name == "column 3"


def test_read_txt_sniffs_the_delimiter(tmp_path):
    got = data.read(_write(tmp_path / "d.txt", "a;b;c\n1;2;x\n3;4;y\n"))
    assert got.feature_names == ("a", "b") and got.classes == ("x", "y")


@pytest.mark.parametrize("target", ["sepal", 0, -3, "0"])
def test_read_target_by_name_or_index(tmp_path, target):
    text = "sepal,petal,width\n1,2.5,7\n1,3.5,8\n2,4.5,9\n"
    got = data.read(_write(tmp_path / "d.csv", text), target=target)
    assert got.target_name == "sepal" and got.feature_names == ("petal", "width")
    np.testing.assert_array_equal(got.X, [[2.5, 7], [3.5, 8], [4.5, 9]])
    np.testing.assert_array_equal(got.y, [0, 0, 1])
    assert got.classes == ("1", "2")


def test_read_target_by_index_keeps_other_columns_as_features(tmp_path):
    got = data.read(_write(tmp_path / "d.csv", "1,0.5,7\n2,1.5,8\n1,2.5,9\n"), target=0)
    np.testing.assert_array_equal(got.X, [[0.5, 7], [1.5, 8], [2.5, 9]])
    assert got.task == "classification" and got.classes == ("1", "2")
    assert got.target_name == "column 1" and got.feature_names == ("column 2", "column 3")


def test_read_infers_regression_and_task_can_be_forced(tmp_path):
    path = _write(tmp_path / "r.csv", "x,y\n0,0.5\n1,1.0\n2,1.5\n")
    got = data.read(path)
    assert got.task == "regression" and got.classes is None
    assert got.y.dtype == np.float32 and got.y.shape == (3, 1)
    np.testing.assert_array_equal(got.y[:, 0], [0.5, 1.0, 1.5])
    forced = data.read(path, task="classification")
    assert forced.classes == ("0.5", "1", "1.5") and forced.y.tolist() == [0, 1, 2]
    ints = _write(tmp_path / "i.csv", "x,y\n0,1\n1,2\n2,1\n")
    assert data.read(ints).task == "classification"
    assert data.read(ints, task="regression").y.tolist() == [[1.0], [2.0], [1.0]]
    rows = "".join(f"{i},{i}\n" for i in range(21))  # documented limit: 20 classes
    many = _write(tmp_path / "m.csv", rows)
    assert data.read(many).task == "regression"


def test_read_npz_and_npy_pairs(tmp_path):
    X = np.arange(8.0).reshape(4, 2)
    np.savez(tmp_path / "d.npz", X=X, y=np.array(["b", "a", "b", "a"]))
    got = data.read(tmp_path / "d.npz")
    np.testing.assert_array_equal(got.X, X)
    assert got.classes == ("a", "b") and got.y.tolist() == [1, 0, 1, 0]
    assert got.feature_names == ("X[:, 0]", "X[:, 1]") and got.target_name == "y"

    np.save(tmp_path / "d.npy", X)
    np.save(tmp_path / "d.y.npy", np.array([0.5, 1, 2, 3]))
    got = data.read(tmp_path / "d.npy")
    assert got.task == "regression" and got.y.shape == (4, 1)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array([3, 1, 3, 1]))
    got = data.read(tmp_path / "X.npy")
    assert got.task == "classification" and got.classes == ("1", "3")


def test_read_sha256_is_of_the_file_bytes_and_stable(tmp_path):
    import hashlib

    path = _write(tmp_path / "iris.csv", IRIS_CSV)
    first, second = data.read(path), data.read(str(path))
    assert first.sha256 == second.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    other = _write(tmp_path / "other.csv", IRIS_CSV + "9,9,setosa\n")
    assert data.read(other).sha256 != first.sha256


def test_load_path_equals_read(tmp_path):
    csv_path = _write(tmp_path / "iris.csv", IRIS_CSV)
    tsv_path = _write(tmp_path / "r.tsv", "sepal\tpetal\n1\t0.5\n2\t1.5\n")
    for given, kwargs in (
        (csv_path, {}),
        (str(csv_path), {}),
        (tsv_path, {}),
        (tsv_path, dict(target="petal", task="classification")),
    ):
        X, y = data.load(given, **kwargs)
        expected_X, expected_y = data.read(given, **kwargs)[:2]
        np.testing.assert_array_equal(X, expected_X)
        np.testing.assert_array_equal(y, expected_y)
        assert X.dtype == expected_X.dtype and y.dtype == expected_y.dtype
    with pytest.raises(ValueError, match="^seed: expected None for a data file, received 1"):
        data.load(csv_path, seed=1)
    with pytest.raises(ValueError, match="^target: expected None for the named set 'iris'"):
        data.load("iris", target="species")


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        (
            "e.csv",
            "a,b,c\n1,2,x\n3,,y\n",
            {},
            "^FILE, line 3, column 'b': expected a value in every cell .*, received an empty cell$",
        ),
        (
            "na.csv",
            "a,b,c\n1,2,x\n3,NA,y\n",
            {},
            "^FILE, line 3, column 'b': .*received the missing value 'NA'$",
        ),
        ("nan.tsv", "1\t2\tx\n3\tnan\ty\n", {}, "^FILE, line 2, column 2: .*missing value 'nan'$"),
        ("label.csv", "a,b,c\n1,2,x\n3,4,\n", {}, "^FILE, line 3, column 'c': .*an empty cell$"),
        (
            "s.csv",
            "a,b,c\n1,2,x\n3,red,y\n",
            {},
            r"^FILE, line 3, column 'b': expected a number \(a feature; the target is column 'c'\), "
            "received 'red'$",
        ),
        ("inf.csv", "a,b,c\n1,inf,x\n3,4,y\n", {}, "^FILE, line 2, column 'b': expected a finite"),
        (
            "one.csv",
            "a,b,c\n1,2,x\n3,4,x\n",
            {},
            r"^FILE, column 'c': expected at least 2 classes, received 1 class \('x'\) in all 2 rows$",
        ),
        (
            "t.csv",
            "a,b,c\n1,2,x\n",
            dict(target="d"),
            r"^target: expected a column name \('a', 'b', 'c'\) or a column index from -3 to 2 of "
            ".*t.csv, received 'd'$",
        ),
        (
            "t.csv",
            "a,b,c\n1,2,x\n",
            dict(target=3),
            "^target: expected .* from -3 to 2 .*, received 3$",
        ),
        (
            "t.csv",
            "1,2,x\n3,4,y\n",
            dict(target="c"),
            "^target: expected a column index from -3 to 2",
        ),
        (
            "r.csv",
            "a,b,c\n1,2,x\n3,4\n",
            {},
            "^FILE, line 3: expected 3 cells, as in line 1, received 2 cells$",
        ),
        ("empty.csv", "", {}, "^FILE: expected a table .*, received an empty file$"),
        ("blank.csv", "\n \n,,\n", {}, "^FILE: expected a table .*, received an empty file$"),
        (
            "c.csv",
            "a\n1\n2\n",
            {},
            "^FILE: expected at least one feature column besides the target",
        ),
        (
            "h.csv",
            "a,b,c\n",
            {},
            "^FILE: expected data rows below the header, received a header only$",
        ),
        (
            "f.csv",
            "a,b\n1,x\n2,y\n",
            dict(task="regression"),
            r"^FILE, line 2, column 'b': expected a number \(task='regression'\), received 'x'$",
        ),
        ("x.xlsx", "a", {}, "^path: expected a data file ending in .csv, .tsv, .txt, .npz, .npy"),
        ("t.csv", "a,b,c\n1,2,x\n3,4,y\n", dict(task="labels"), "^task: expected one of None"),
    ],
)
def test_read_rejects_bad_files(tmp_path, name, text, kwargs, message):
    path = _write(tmp_path / name, text)
    with pytest.raises(ValueError, match=message.replace("FILE", re.escape(str(path)))):
        data.read(path, **kwargs)


def test_read_rejects_unreadable_files(tmp_path):
    with pytest.raises(ValueError, match=r"nope.csv: expected a readable file, received No such"):
        data.read(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValueError, match=r"dir.csv: expected a readable file, received Is a dir"):
        data.read(tmp_path / "dir.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe1,2\n")
    with pytest.raises(ValueError, match="bin.csv: expected UTF-8 text"):
        data.read(tmp_path / "bin.csv")
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(
        ValueError,
        match=r"junk.npz: expected an .npz archive .*, received a file "
        "in another format$",
    ):
        data.read(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="^path: expected a file path"):
        data.read(3)


def test_read_rejects_bad_arrays(tmp_path):
    np.savez(tmp_path / "noy.npz", X=np.ones((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"noy.npz: expected an .npz archive holding arrays 'X' "
        r"and 'y', received arrays \['X'\]$",
    ):
        data.read(tmp_path / "noy.npz")
    np.savez(tmp_path / "nan.npz", X=np.array([[1, 2], [np.nan, 3]]), y=np.array([0, 1]))
    with pytest.raises(
        ValueError,
        match=r"nan.npz, X: expected finite values in every row, "
        r"received NaN/inf in 1 row\(s\): 1$",
    ):
        data.read(tmp_path / "nan.npz")
    np.savez(tmp_path / "n.npz", X=np.ones((3, 2)), y=np.ones(2))
    with pytest.raises(ValueError, match=r"n.npz, y: expected numbers or strings of shape \(3,\)"):
        data.read(tmp_path / "n.npz")
    np.savez(tmp_path / "one.npz", X=np.ones((3, 2)), y=np.zeros(3, int))
    with pytest.raises(ValueError, match="one.npz, y: expected at least 2 classes"):
        data.read(tmp_path / "one.npz")
    with pytest.raises(ValueError, match="^target: expected None for .*one.npz"):
        data.read(tmp_path / "one.npz", target=0)
    np.save(tmp_path / "lone.npy", np.ones((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"lone.npy: expected its targets in .*lone.y.npy "
        r"\(NAME.npy holds X and NAME.y.npy beside it holds y; X.npy pairs with "
        r"y.npy\), received no such file$",
    ):
        data.read(tmp_path / "lone.npy")


def test_split_of_a_small_file_says_why(tmp_path):
    X, y = data.load(_write(tmp_path / "iris.csv", IRIS_CSV))
    with pytest.raises(
        ValueError,
        match=r"^X: expected enough rows .*received 4 rows, giving "
        r"\(train, valid, test\) sizes \(3, 0, 1\) at valid=0.15, test=0.15$",
    ):
        data.split(KEY, X, y, stratify=True)
