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
