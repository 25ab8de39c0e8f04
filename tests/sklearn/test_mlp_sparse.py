"""Sparse X in MLPClassifier / MLPRegressor: the dense fit's trajectory, one dense minibatch at a time."""

import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
import scipy.sparse

from nnbasics.sklearn import MLPClassifier, MLPRegressor

FORMATS = ("csr", "csc")


def _data(n, d=30, seed=0):
    rng = np.random.default_rng(seed)
    X = scipy.sparse.random(n, d, density=0.15, random_state=seed, format="csr")
    X.data = rng.normal(size=X.nnz)
    return X, rng


def _params(est):
    return est.coefs_ + est.intercepts_


def _assert_same_fit(dense, sparse):
    assert dense.n_iter_ == sparse.n_iter_
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-12, atol=0)
    for a, b in zip(_params(dense), _params(sparse), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)


KW: dict[str, Any] = dict(hidden_layer_sizes=(7, 5), max_iter=4, random_state=0, dtype="float64")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n", [103, 100])  # with a padded last minibatch, and without
def test_classifier_sparse_fit_is_the_dense_fit(fmt, n):
    X, rng = _data(n)
    y = rng.integers(0, 3, n)
    kw = dict(KW, batch_size=20, learning_rate_init=0.01)
    dense = MLPClassifier(**kw).fit(X.toarray(), y)
    sparse = MLPClassifier(**kw).fit(X.asformat(fmt), y)
    _assert_same_fit(dense, sparse)
    np.testing.assert_allclose(
        sparse.predict_proba(X.asformat(fmt)), dense.predict_proba(X.toarray()), rtol=1e-12
    )
    np.testing.assert_array_equal(sparse.predict(X.asformat(fmt)), dense.predict(X.toarray()))
    assert sparse.score(X.asformat(fmt), y) == dense.score(X.toarray(), y)


@pytest.mark.parametrize("fmt", FORMATS)
def test_regressor_sparse_fit_is_the_dense_fit(fmt):
    X, rng = _data(57)
    y = X @ rng.normal(size=30) + 0.1 * rng.normal(size=57)
    kw = dict(KW, batch_size=16, activation="tanh", learning_rate_init=0.02, solver="sgd")
    dense = MLPRegressor(**kw).fit(X.toarray(), y)
    sparse = MLPRegressor(**kw).fit(X.asformat(fmt), y)
    _assert_same_fit(dense, sparse)
    np.testing.assert_allclose(
        sparse.predict(X.asformat(fmt)), dense.predict(X.toarray()), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        sparse.score(X.asformat(fmt), y), dense.score(X.toarray(), y), rtol=1e-12
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_partial_fit_is_the_dense_partial_fit(fmt):
    X, rng = _data(45)
    y = rng.integers(0, 2, 45)
    kw = dict(KW, batch_size=10, learning_rate_init=0.01)
    dense, sparse = MLPClassifier(**kw), MLPClassifier(**kw)
    for _ in range(3):
        dense.partial_fit(X.toarray(), y, classes=[0, 1])
        sparse.partial_fit(X.asformat(fmt), y, classes=[0, 1])
    _assert_same_fit(dense, sparse)
    reg_dense, reg_sparse = MLPRegressor(**kw), MLPRegressor(**kw)
    target = rng.normal(size=45)
    for _ in range(2):
        reg_dense.partial_fit(X.toarray(), target)
        reg_sparse.partial_fit(X.asformat(fmt), target)
    _assert_same_fit(reg_dense, reg_sparse)


def test_sparse_warm_start_goes_on_as_dense():
    X, rng = _data(40)
    y = rng.integers(0, 2, 40)
    kw = dict(KW, batch_size=10, warm_start=True, max_iter=2)
    dense, sparse = MLPClassifier(**kw), MLPClassifier(**kw)
    for _ in range(2):
        dense.fit(X.toarray(), y)
        sparse.fit(X, y)
    _assert_same_fit(dense, sparse)


def test_sparse_refuses_early_stopping():
    X, rng = _data(20)
    with pytest.raises(ValueError, match="^early_stopping: expected False with a sparse X"):
        MLPClassifier((3,), max_iter=1, early_stopping=True).fit(X, rng.integers(0, 2, 20))


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_sample_weight_is_the_dense_sample_weight(fmt):
    X, rng = _data(47)
    y = rng.integers(0, 3, 47)
    weight = rng.uniform(0, 2, 47)
    weight[:38] = 0  # so that many minibatches hold only weight 0 (skipped steps)
    kw = dict(KW, batch_size=5, learning_rate_init=0.01)
    dense = MLPClassifier(**kw).fit(X.toarray(), y, sample_weight=weight)
    sparse = MLPClassifier(**kw).fit(X.asformat(fmt), y, sample_weight=weight)
    _assert_same_fit(dense, sparse)
    target = rng.normal(size=47)
    reg_dense, reg_sparse = MLPRegressor(**kw), MLPRegressor(**kw)
    for _ in range(2):
        reg_dense.partial_fit(X.toarray(), target, sample_weight=weight)
        reg_sparse.partial_fit(X.asformat(fmt), target, sample_weight=weight)
    _assert_same_fit(reg_dense, reg_sparse)


# A one-hot X of n rows × 200,000 columns (one 1 per row): 4 bytes × n × 200,000 dense
# in float32 (4 GB at 5,000 rows, 40 GB at 50,000), a few MB sparse. Densifying the whole
# X, or keeping every minibatch's dense copy alive, exceeds the 2 GB the child may use;
# one (200, 200,000) float32 minibatch is 160 MB.
_ONE_HOT = textwrap.dedent(
    """
    import sys
    import numpy as np, scipy.sparse
    from nnbasics.sklearn import MLPClassifier

    n, d = int(sys.argv[1]), 200_000
    cols = np.random.default_rng(0).integers(0, d, n)
    X = scipy.sparse.csr_matrix((np.ones(n), (np.arange(n), cols)), shape=(n, d))
    y = cols % 2
    clf = MLPClassifier((8,), batch_size=200, max_iter=1, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (n, 2) and np.all(np.isfinite(proba)), proba
    assert len(clf.loss_curve_) == 1 and np.isfinite(clf.loss_curve_[0])
    # This program's peak resident memory in KiB: VmHWM, not ru_maxrss, which keeps
    # the peak of the process it was started from (a test worker's, gigabytes) across exec.
    print(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
    """
)


def _peak_rss_gb(n):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", _ONE_HOT, str(n)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return int(out.stdout.split()[-1]) / 2**20


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc/self/status (VmHWM) is Linux's"
)
def test_one_hot_5000_rows_4gb_dense_fits_in_under_2gb():
    assert _peak_rss_gb(5_000) < 2.0


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc/self/status (VmHWM) is Linux's"
)
def test_one_hot_50000_rows_40gb_dense_fits_in_under_2gb():
    assert _peak_rss_gb(50_000) < 2.0


def test_sparse_divergence_is_the_dense_divergence():
    X, rng = _data(30)
    y = rng.integers(0, 2, 30)
    kw = dict(KW, batch_size=10, learning_rate_init=1e200, solver="sgd")
    with pytest.warns(RuntimeWarning, match="diverged"):
        dense = MLPClassifier(**kw).fit(X.toarray(), y)
    with pytest.warns(RuntimeWarning, match="diverged"):
        sparse = MLPClassifier(**kw).fit(X, y)
    _assert_same_fit(dense, sparse)
    assert all(np.all(np.isfinite(p)) for p in _params(sparse))


def test_one_hot_encoder_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    words = np.array([["red"], ["green"], ["blue"], ["red"], ["blue"], ["green"]])
    y = np.array([1, 0, 0, 1, 0, 0])
    pipe = make_pipeline(OneHotEncoder(), MLPClassifier((4,), max_iter=200, random_state=0))
    pipe.set_params(mlpclassifier__learning_rate_init=0.05)
    assert scipy.sparse.issparse(pipe[0].fit_transform(words))
    np.testing.assert_array_equal(pipe.fit(words, y).predict(words), y)
