"""Tests that kill the mutants mutmut found surviving in data splits and checkpoints.

See docs/mutation-report.md, "Data splits and checkpoints". Each is tiny and
fast (it runs once per mutant): small arrays, no training.
"""

import re

import jax
import numpy as np
import pytest

from nnbasics import data
from nnbasics.data import splits

KEY = jax.random.key(0)

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


# --- data/splits, second round (check_dataset, Standardizer, transform)

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
