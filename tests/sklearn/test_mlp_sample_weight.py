"""sample_weight in nnbasics.sklearn's MLPClassifier and MLPRegressor, as scikit-learn's MLP defines it."""

import jax
import numpy as np
import pytest
from sklearn import neural_network
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnbasics as nb
from nnbasics.sklearn import GridSearchCV, MLPClassifier, MLPRegressor


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return X, y, rng.uniform(0.0, 3.0, n)


def _initial_params(est, X, n_out):
    """The parameters ``est.fit`` starts from (its seed's k_init)."""
    net, _, seed = est._plan(X.shape[0], X.shape[1], n_out)
    k_init, _ = jax.random.split(jax.random.key(seed))
    return net.init(k_init, np.float64)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_weighted_batch_step_is_scikit_learns_gradient(alpha):
    # One epoch of plain SGD with rate 1 on one full batch moves θ₀ by −∇L, L scikit-learn's
    # weighted batch loss Σ sᵢ ½(f(xᵢ)−yᵢ)² / Σs + alpha/(2Σs)·Σ‖W‖²: θ₀ − θ₁ must be
    # scikit-learn's own _backprop gradient at θ₀.
    X, y, s = _data()
    est = MLPRegressor(
        (5,),
        solver="sgd",
        learning_rate_init=1.0,
        alpha=alpha,
        batch_size=len(y),
        max_iter=1,
        random_state=0,
        dtype="float64",
    )
    start = _initial_params(est, X, 1)
    est.fit(X, y, sample_weight=s)
    ref = neural_network.MLPRegressor(hidden_layer_sizes=(5,), alpha=alpha)
    ref.coefs_ = [np.asarray(p["W"]) for p in start]
    ref.intercepts_ = [np.asarray(p["b"]) for p in start]
    ref.n_layers_, ref.out_activation_, ref.n_outputs_ = 3, "identity", 1
    y2 = y.reshape(-1, 1)
    coef_grads = [np.empty_like(W) for W in ref.coefs_]
    intercept_grads = [np.empty_like(b) for b in ref.intercepts_]
    ref._backprop(X, y2, s, [X, None, None], [None, None], coef_grads, intercept_grads)
    for W0, W1, g in zip(ref.coefs_, est.coefs_, coef_grads, strict=True):
        np.testing.assert_allclose(W0 - W1, g, rtol=1e-10, atol=1e-14)
    for b0, b1, g in zip(ref.intercepts_, est.intercepts_, intercept_grads, strict=True):
        np.testing.assert_allclose(b0 - b1, g, rtol=1e-10, atol=1e-14)


def test_integer_weights_are_repeated_rows():
    # full-batch training: a weight-k row is k copies of it (weight 0: the row removed)
    X, y, _ = _data()
    counts = np.tile([0, 1, 2, 3], 10)
    rows = np.repeat(np.arange(len(y)), counts)
    options = dict(alpha=0.1, max_iter=20, random_state=0, dtype="float64", batch_size=200)
    weighted = MLPRegressor((4,), **options).fit(X, y, sample_weight=counts)
    repeated = MLPRegressor((4,), **options).fit(X[rows], y[rows])
    for a, b in zip(weighted.coefs_, repeated.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_unit_weights_change_nothing():
    X, y = load_iris(return_X_y=True)
    options = dict(batch_size=32, max_iter=5, random_state=0, dtype="float64")
    plain = MLPClassifier((8,), **options).fit(X, y)
    ones = MLPClassifier((8,), **options).fit(X, y, sample_weight=np.ones(len(y)))
    for a, b in zip(plain.coefs_, ones.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_minibatch_of_weight_zero_changes_nothing():
    X, y, _ = _data(8)
    net = nb.MLP((3, 2, 1), output="linear")
    params = net.init(jax.random.key(0), np.float64)
    w = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    result = nb.fit(
        net,
        params,
        nb.optim.sgd(0.1),
        (X, y[:, None]),
        epochs=1,
        batch_size=1,
        key=jax.random.key(1),
        sample_weight=w,
    )
    kept = nb.fit(
        net,
        params,
        nb.optim.sgd(0.1),
        (X[4:], y[4:, None]),
        epochs=1,
        batch_size=1,
        key=jax.random.key(1),
    )
    assert all(np.all(np.isfinite(p["W"])) for p in result.params)
    # the four weighted rows moved the parameters (four steps of them), the others none
    moved = sum(float(np.abs(a["W"] - b["W"]).sum()) for a, b in zip(result.params, params))
    assert moved > 0 and kept.history["train_loss"].shape == (1,)


@pytest.mark.parametrize("bad", [np.ones(3), -np.ones(40), np.zeros(40), np.full(40, np.nan)])
def test_fit_refuses_bad_weights(bad):
    X, y, _ = _data()
    net = nb.MLP((3, 2, 1), output="linear")
    with pytest.raises(ValueError, match="^sample_weight: expected"):
        nb.fit(
            net,
            net.init(jax.random.key(0)),
            nb.optim.sgd(0.1),
            (X, y[:, None]),
            epochs=1,
            key=jax.random.key(1),
            sample_weight=bad,
        )


def test_sample_weight_through_pipeline_and_scikit_learns_grid_search():
    X, y = load_iris(return_X_y=True)
    s = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=10, random_state=0))
    pipe.fit(X, y, mlpclassifier__sample_weight=s)
    alone = MLPClassifier((8,), max_iter=10, random_state=0).fit(
        StandardScaler().fit_transform(X), y, sample_weight=s
    )
    np.testing.assert_array_equal(pipe[-1].coefs_[0], alone.coefs_[0])
    grid = {"alpha": [1e-4, 1e-2]}
    est = MLPClassifier((8,), max_iter=10, random_state=0, dtype="float64")
    ours = GridSearchCV(est, grid, cv=3).fit(X, y, sample_weight=s)
    ref = SkGridSearchCV(est, grid, cv=3).fit(X, y, sample_weight=s)
    assert ours.batched_  # every fold trained on its own rows' weights, in one program
    for k in range(3):
        np.testing.assert_allclose(
            ours.cv_results_[f"split{k}_test_score"],
            ref.cv_results_[f"split{k}_test_score"],
            rtol=1e-9,
        )
    np.testing.assert_allclose(ours.best_estimator_.coefs_[0], ref.best_estimator_.coefs_[0])
