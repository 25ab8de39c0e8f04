"""Small networks, data and nb.fit calls shared by the training tests."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nnbasics as nb

XOR_NET = nb.MLP((2, 3, 2), hidden="tanh", output="softmax")

# A run padded to row buckets against the same run unpadded (float64): they may sum a
# mean in another order. One epoch (parameters, losses, predictions), and a whole fit
# with early stopping.
BUCKETS_RTOL = 1e-12
BUCKETS_RTOL_LONG = 1e-9


# ------------------------------------------------------------------ fit's argument checks

X4 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


Y4 = np.array([0, 1, 1, 0])


def fit_refusal(**change):
    """The message of the ValueError ``nb.fit`` raises, before any work, for ``change``."""
    kw = dict(
        net=XOR_NET,
        params=XOR_NET.init(jax.random.key(0)),
        optimizer=nb.optim.sgd(0.1),
        train=(X4, Y4),
        epochs=1,
        key=jax.random.key(1),
    )
    kw.update(change)
    with pytest.raises(ValueError) as e:  # noqa: PT011 (the whole message is compared)
        nb.fit(kw.pop("net"), kw.pop("params"), kw.pop("optimizer"), kw.pop("train"), **kw)
    return str(e.value)


NET = nb.MLP((4, 8, 3), hidden="tanh", output="softmax")


def iris_sample(n):
    X, y = nb.data.load("iris")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(X))[:n]
    X = (X - X.mean(0)) / X.std(0)
    return np.asarray(X[idx], np.float64), np.asarray(y[idx])


RELU_NET = nb.MLP((4, 8, 3))


def fit_iris(data, optimizer, **kw):
    (train_set, valid) = data
    params = RELU_NET.init(jax.random.key(0), np.float32)
    kw = dict(dict(epochs=2, batch_size=16, key=jax.random.key(1), valid=valid, patience=5), **kw)
    return nb.fit(RELU_NET, params, optimizer, train_set, **kw)


def params64(net=NET, seed=0):
    return net.init(jax.random.PRNGKey(seed), jnp.float64)


def targets(net, rng, n):
    """n random targets of ``net``'s output unit: labels (softmax), 0/1 (sigmoid), reals."""
    d = net.sizes[-1]
    if net.output == "softmax":
        return rng.integers(0, d, n).astype(np.int32)
    if net.output == "sigmoid":
        return rng.integers(0, 2, (n, d)).astype(np.float64)
    return rng.normal(size=(n, d))


def train_valid(net, n_train, n_valid, seed=0):
    """Random (train, valid) sets for ``net``: normal features, :func:`targets`, float64."""
    rng = np.random.default_rng(seed)
    n = n_train + n_valid
    X = rng.normal(size=(n, net.sizes[0]))
    y = targets(net, rng, n)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])
