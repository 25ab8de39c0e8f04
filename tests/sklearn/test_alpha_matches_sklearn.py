"""``alpha`` means what it means in scikit-learn: one SGD epoch equals scikit-learn's.

scikit-learn's MLP adds ``alpha/(2·B)·Σ‖W‖²`` to each minibatch's mean loss
(its gradient: ``(Xᵀδ + alpha·W) / B``, sklearn/neural_network/_multilayer_perceptron.py,
``_compute_loss_grad``); ``nnbasics.sklearn`` passes ``l2 = alpha / B`` to ``nb.fit``.
Both estimators start here from the same weights and see the same minibatches in
the same order (scikit-learn with ``shuffle=False`` on the rows in the order
``nb.fit`` draws for its first epoch), with plain SGD in float64: after the
epoch every weight, bias and the epoch's loss agree to rtol 1e-10. Several
minibatches per epoch (B < n), so ``alpha / n`` in place of ``alpha / B`` shows.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from nnbasics.sklearn import MLPClassifier

N, D, CLASSES, B = 24, 3, 3, 8
RTOL = 1e-10


def _data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((N, D))
    y = np.arange(N) % CLASSES
    return X, y


def _first_epoch_order(seed: int, n: int) -> np.ndarray:
    """The row order of nb.fit's first epoch, from the estimator's seed (see ``_fit``)."""
    _, k_train = jax.random.split(jax.random.key(seed))
    _, sub = jax.random.split(k_train)
    return np.asarray(jax.random.permutation(sub, n))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 3.0])
def test_one_sgd_epoch_equals_sklearn(alpha):
    X, y = _data()
    ours = MLPClassifier(
        (5,),
        activation="tanh",
        solver="sgd",
        alpha=alpha,
        batch_size=B,
        learning_rate_init=0.2,
        max_iter=1,
        random_state=0,
        dtype="float64",
    ).fit(X, y)

    # the same start: the weights ours drew before training
    net, batch, seed = ours._plan(N, D, CLASSES)
    assert batch == B
    k_init, _ = jax.random.split(jax.random.key(seed))
    start = net.init(k_init, jnp.float64)

    order = _first_epoch_order(seed, N)
    theirs = SkMLPClassifier(
        (5,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=alpha,
        batch_size=B,  # pyright: ignore[reportArgumentType]  (scikit-learn types it str)
        learning_rate="constant",
        learning_rate_init=0.2,
        max_iter=1,
        shuffle=False,
        warm_start=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)  # sets up the layers; its weights are replaced next
        theirs.coefs_ = [np.array(layer["W"], np.float64) for layer in start]
        theirs.intercepts_ = [np.array(layer["b"], np.float64) for layer in start]
        theirs.loss_curve_ = []
        theirs.fit(X[order], y[order])  # warm start: one epoch from these weights

    np.testing.assert_array_equal(theirs.classes_, ours.classes_)
    assert len(ours.coefs_) == len(theirs.coefs_) == 2
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert mine.dtype == np.float64
        np.testing.assert_allclose(mine, reference, rtol=RTOL, atol=0)
    moved = np.abs(theirs.coefs_[0] - np.asarray(start[0]["W"])).max()
    assert moved > 1e-2  # the epoch did train
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL)
