"""nb.data splits, standardization and dataset checks."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from nnbasics import data
from nnbasics.data import splits
from tests._helpers.files import IRIS_CSV, write_text

KEY = jax.random.key(0)


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


def test_split_of_a_small_file_says_why(tmp_path):
    X, y = data.load(write_text(tmp_path / "iris.csv", IRIS_CSV))
    with pytest.raises(
        ValueError,
        match=r"^X: expected enough rows .*received 4 rows, giving "
        r"\(train, valid, test\) sizes \(3, 0, 1\) at valid=0.15, test=0.15$",
    ):
        data.split(KEY, X, y, stratify=True)


# --- data/splits


@pytest.mark.parametrize(
    ("m", "valid", "test", "sizes"),
    [(10, 0.2, 0.1, (7, 2, 1)), (7, 0.5, 0.3, (1, 4, 2)), (4, 0.0, 0.25, (3, 0, 1))],
)
def test_sizes_round_half_up_each_of_train_valid_and_test(m, valid, test, sizes):
    # round(m·valid) and round(m·(valid + test)) − round(m·valid), half up, by hand
    assert splits._sizes(m, valid, test) == sizes


@pytest.mark.parametrize("kind", ["real", "binary"])
def test_check_dataset_accepts_integer_features_and_targets(kind):
    X = np.arange(6).reshape(3, 2)  # integer features are numeric (the docs: real-valued)
    data.check_dataset(X, np.array([0, 1, 1]), kind=kind)
    data.check_dataset(X, np.array([0, 1, 1]), n_classes=2)


X4, Y4 = np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(valid=-0.1), "valid: expected a real number in [0.0, 1.0), received -0.1"),
        (dict(test=1.0), "test: expected a real number in [0.0, 1.0), received 1.0"),
        (dict(test=-0.5), "test: expected a real number in [0.0, 1.0), received -0.5"),
        (
            dict(valid=0.6, test=0.4),
            "valid + test: expected a sum below 1, leaving examples to train on, received 1.0",
        ),
        (dict(stratify=1), "stratify: expected True or False, received 1"),
        (dict(X=[[1.0]]), "X: expected an array of shape (n, ...), received [[1.0]]"),
        (dict(y=[0, 1, 0, 1]), "y: expected an array of shape (n, ...), received [0, 1, 0, 1]"),
        (dict(y=Y4[:3]), "y: expected 4 rows, as many as X, received 3 rows"),
        (
            dict(y=Y4 * 0.5, stratify=True),
            "y: expected integer class labels of shape (n,) when stratify=True, "
            "received array of shape (4,) and dtype float64",
        ),
        (
            dict(valid=0.1, test=0.1),
            "X: expected enough rows for a non-empty train split and non-empty valid/test "
            "splits where their fraction is positive, received 4 rows, giving "
            "(train, valid, test) sizes (3, 0, 1) at valid=0.1, test=0.1",
        ),
        (
            dict(valid=0.5, test=0.1),
            "X: expected enough rows for a non-empty train split and non-empty valid/test "
            "splits where their fraction is positive, received 4 rows, giving "
            "(train, valid, test) sizes (2, 2, 0) at valid=0.5, test=0.1",
        ),
    ],
)
def test_split_refuses_bad_arguments_with_the_whole_message(kwargs, message):
    args = {"X": X4, "y": Y4, **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        data.split(KEY, args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize(
    ("n", "valid", "test", "sizes"),
    [(4, 0.5, 0.25, (1, 2, 1)), (4, 0.25, 0.25, (2, 1, 1)), (4, 0.0, 0.0, (4, 0, 0))],
)
def test_split_accepts_one_row_splits_and_empty_zero_fraction_ones(n, valid, test, sizes):
    # train, valid or test of exactly one row is enough; a zero fraction gives no rows
    X, y = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    parts = data.split(KEY, X, y, valid=valid, test=test)
    assert tuple(len(p[1]) for p in parts) == sizes
    assert sorted(np.concatenate([p[1] for p in parts]).tolist()) == list(range(n))


def test_stratified_split_rounds_each_class_separately():
    # classes of 2, 1 and 1 rows at valid = test = 0.25, by hand per class:
    # (train, valid, test) = (1, 1, 0), (0, 0, 1), (0, 0, 1)
    y = np.array([1, 0, 2, 0])
    X = np.stack([np.arange(4.0), 2.0 * np.arange(4.0)], axis=1)
    parts = data.split(KEY, X, y, valid=0.25, test=0.25, stratify=True)
    counts = [np.bincount(ys, minlength=3).tolist() for _, ys in parts]
    assert counts == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]
    rows = np.concatenate([Xs[:, 0] for Xs, _ in parts]).astype(int)
    assert sorted(rows.tolist()) == list(range(4))
    for Xs, ys in parts:
        np.testing.assert_array_equal(y[Xs[:, 0].astype(int)], ys)  # rows stay paired


# --- data/splits: check_dataset, Standardizer, transform

X3 = np.arange(6.0).reshape(3, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: data.check_dataset(X3, np.array([0, 1, 1]), kind="real", n_outputs=0),
            "n_outputs: expected a positive integer, received 0",
        ),
        (
            lambda: data.check_dataset(np.zeros((2, 2), bool), np.array([0, 1])),
            "X: expected real-valued features, received array of shape (2, 2) and dtype bool",
        ),
        (
            lambda: data.check_dataset(np.zeros((0, 2)), np.zeros(0, int)),
            "X: expected at least one example, received an empty data set (0 rows)",
        ),
        (
            lambda: data.check_dataset(X3, [0, 1, 1]),
            "y: expected 3 rows, as many as X, received [0, 1, 1]",
        ),
        (
            lambda: data.check_dataset(X3, np.float64(1.0), kind="real"),
            "y: expected 3 rows, as many as X, received array of shape () and dtype float64",
        ),
        (
            lambda: data.check_dataset(X3, np.array([0, 1]), name_y="valid[1]"),
            "valid[1]: expected 3 rows, as many as X, received array of shape (2,) and dtype int64",
        ),
        (
            lambda: data.check_dataset(X3, np.array(["a", "b", "c"]), kind="real"),
            "y: expected numeric targets, received array of shape (3,) and dtype <U1",
        ),
        (
            lambda: data.Standardizer.fit(np.zeros(3)),
            "X: expected an array of shape (n, d), received array of shape (3,) and dtype float64",
        ),
    ],
)
def test_data_refusals_name_argument_expected_and_received(call, message):
    # DESIGN.md: one ValueError naming the argument, the expected and the received value.
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


def test_check_dataset_checks_only_shapes_and_dtypes_of_traced_binary_targets():
    # Docstring: "checks of the values (finite, label range) run only on concrete arrays".
    y = np.array([[0.0], [1.0], [1.0]])
    jax.jit(lambda y: data.check_dataset(X3, y, kind="binary"))(y)
    with pytest.raises(
        ValueError, match=r"^y: expected targets in \{0, 1\}, received 1 other values$"
    ):
        data.check_dataset(X3, np.array([[0.0], [1.0], [0.5]]), kind="binary")


def test_transform_is_the_documented_arithmetic_in_the_traced_paths_dtype():
    # (X − mean) / scale, for concrete data in NumPy in the dtype the traced (jit) path
    # has, and within one unit in the last place of it (XLA's CPU division can round
    # differently from NumPy's).
    rng = np.random.default_rng(0)
    X32 = rng.normal(size=(50, 3)).astype(np.float32)
    cases = [
        (data.Standardizer.fit(X32), X32, np.float32),
        (data.Standardizer.fit(X32), np.arange(12).reshape(4, 3), np.float32),  # integer data
        (data.Standardizer.fit(X32.astype(np.float64)), X32, np.float64),
    ]
    for stats, X, dtype in cases:
        concrete = data.transform(stats, X)
        mean, scale = np.asarray(stats.mean, dtype), np.asarray(stats.scale, dtype)
        np.testing.assert_array_equal(concrete, (np.asarray(X, dtype) - mean) / scale)
        for traced in (
            jax.jit(lambda X, stats=stats: data.transform(stats, X))(X),
            jax.jit(lambda s, X=X: data.transform(s, X))(stats),
        ):
            assert concrete.dtype == traced.dtype == dtype
            np.testing.assert_array_max_ulp(concrete, traced, maxulp=1)
    # A model's float64 statistics (NumPy) used in a float32 process: computed in float32.
    stats = data.Standardizer(rng.normal(size=3), rng.uniform(0.5, 2.0, size=3))
    with jax.enable_x64(False):
        concrete = data.transform(stats, X32)
        traced = jax.jit(lambda X: data.transform(stats, X))(X32)
        assert concrete.dtype == traced.dtype == np.float32
        f32 = np.float32
        expected = (X32 - stats.mean.astype(f32)) / stats.scale.astype(f32)
        np.testing.assert_array_equal(concrete, expected)


def test_standardizer_of_integer_data_is_in_the_default_float_dtype():
    stats = data.Standardizer.fit(np.array([[1, 10], [3, 10]]))
    assert stats.mean.dtype == stats.scale.dtype == jnp.result_type(float)
    np.testing.assert_allclose(stats.mean, [2.0, 10.0])
    np.testing.assert_allclose(stats.scale, [1.0, 1.0])  # the constant column's scale is 1


@pytest.mark.parametrize(
    ("X", "received"),
    [
        (np.zeros(3), "array of shape (3,) and dtype float64"),
        ([1, 2], "[1, 2]"),
        (5.0, "5.0"),
    ],
)
def test_check_dataset_names_what_it_received_for_features_of_another_shape(X, received):
    with pytest.raises(ValueError, match="^valid") as e:
        data.check_dataset(X, np.array([0, 1, 1]), name_X="valid[0]")
    assert str(e.value) == f"valid[0]: expected an array of shape (n, d), received {received}"
