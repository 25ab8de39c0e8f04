"""Iris splits shared by the training tests."""

import jax
import numpy as np
import pytest

import nnbasics as nb


@pytest.fixture(scope="module")
def iris32():
    X, y = nb.data.load("iris")
    X = (X - X.mean(0)) / X.std(0)
    return (X[:120], y[:120]), (X[120:], y[120:])


@pytest.fixture(scope="module")
def iris():
    X, y = nb.data.load("iris")
    (Xt, yt), (Xv, yv), _ = nb.data.split(
        jax.random.PRNGKey(0), X, y, valid=0.2, test=0.2, stratify=True
    )
    stats = nb.data.Standardizer.fit(Xt)
    return (np.asarray(nb.data.transform(stats, Xt), np.float64), yt), (
        np.asarray(nb.data.transform(stats, Xv), np.float64),
        yv,
    )
