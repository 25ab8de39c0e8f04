"""partial_fit and warm_start in nnbasics.sklearn's MLPClassifier and MLPRegressor."""

import pickle

import jax
import numpy as np
import pytest
from sklearn.datasets import load_iris

import nnbasics as nb
from nnbasics.sklearn import MLPClassifier, MLPRegressor


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


OPTIONS = dict(batch_size=32, learning_rate_init=1e-2, random_state=0, dtype="float64")


def test_partial_fit_epochs_are_fits_epochs():
    # partial_fit starts as fit does (same seed, parameters, optimizer state and key)
    # and keeps the state between calls: three calls are fit's three epochs exactly
    X, y = _iris()
    whole = MLPClassifier((8,), max_iter=3, **OPTIONS).fit(X, y)
    steps = MLPClassifier((8,), **OPTIONS)
    for _ in range(3):
        steps.partial_fit(X, y, classes=[0, 1, 2])
    for a, b in zip(whole.coefs_ + whole.intercepts_, steps.coefs_ + steps.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(steps.loss_curve_, whole.loss_curve_, rtol=1e-12)
    assert steps.n_iter_ == 1  # scikit-learn's: the epochs of the last call
    # and it survives pickling, going on as before
    copy = pickle.loads(pickle.dumps(steps))
    steps.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(steps.coefs_[0], copy.coefs_[0])


def test_partial_fit_needs_classes_first_and_known_labels():
    X, y = _iris()
    with pytest.raises(ValueError, match="^classes: expected every class label"):
        MLPClassifier((4,), **OPTIONS).partial_fit(X, y)
    clf = MLPClassifier((4,), **OPTIONS).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.coefs_[-1].shape == (4, 3)
    with pytest.raises(ValueError, match="^y: expected labels in classes"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="^early_stopping: expected False"):
        MLPClassifier((4,), early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_regressor_partial_fit_goes_on():
    X, y = _iris()
    target = X @ np.array([1.0, -1.0, 0.5, 2.0])
    reg = MLPRegressor((8,), **OPTIONS)
    losses = [reg.partial_fit(X, target).loss_curve_[-1] for _ in range(20)]
    assert len(reg.loss_curve_) == 20 and losses[-1] < losses[0]


def test_warm_start_continues_from_the_fitted_weights():
    # scikit-learn's meaning: the next fit starts from coefs_/intercepts_ (a new optimizer
    # state), and loss_curve_ goes on
    X, y = _iris()
    clf = MLPClassifier((8,), max_iter=2, warm_start=True, **OPTIONS).fit(X, y)
    after_two = [{"W": W, "b": b} for W, b in zip(clf.coefs_, clf.intercepts_)]
    clf.set_params(max_iter=3).fit(X, y)
    net, _, seed = clf._plan(len(y), 4, 3)
    _, k_train = jax.random.split(jax.random.key(seed))
    expected = nb.fit(
        net,
        after_two,
        nb.optim.adam(1e-2),
        (X, y),
        epochs=3,
        batch_size=32,
        key=k_train,
        l2=1e-4 / 32,
    )
    np.testing.assert_allclose(clf.coefs_[0], expected.params[0]["W"], rtol=1e-12)
    assert len(clf.loss_curve_) == 5 and clf.n_iter_ == 3
    cold = MLPClassifier((8,), max_iter=3, **OPTIONS).fit(X, y)
    assert not np.allclose(cold.coefs_[0], clf.coefs_[0])
