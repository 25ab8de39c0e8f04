"""nnbasics.sklearn.LogisticRegression, LinearRegression, Ridge: the course's models as estimators.

Their hand-written derivatives equal JAX's, their fits equal scikit-learn's,
and they pass scikit-learn's estimator checks, Pipeline, both grid searches and pickle.
"""

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import datasets, linear_model
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV as SkGridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnbasics import linear, logistic, newton
from nnbasics.sklearn import GridSearchCV, LinearRegression, LogisticRegression, Ridge


def _table(name):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _weights(n, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 3.0, n)


# ------------------------------------------------------------ hand-written derivatives


def _multinomial_problem(seed, n=30, d=4, k=3):
    rng = np.random.default_rng(seed)
    params = {"w": jnp.asarray(rng.normal(size=(d, k))), "b": jnp.asarray(rng.normal(size=k))}
    return params, jnp.asarray(rng.normal(size=(n, d))), jnp.asarray(rng.integers(0, k, n))


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_grad_and_hessian_equal_jax(l2, weighted):
    params, X, y = _multinomial_problem(0)
    s = _weights(X.shape[0]) if weighted else None
    manual = logistic.multinomial_grad(params, X, y, l2, s)
    auto = jax.grad(logistic.multinomial_nll)(params, X, y, l2, s)
    for key in ("w", "b"):
        np.testing.assert_allclose(manual[key], auto[key], rtol=1e-10, atol=1e-15)
    d, k = params["w"].shape

    def of_theta(theta):
        table = theta.reshape(d + 1, k)
        return logistic.multinomial_nll({"w": table[:d], "b": table[d]}, X, y, l2, s)

    theta = jnp.concatenate([params["w"], params["b"][None]]).reshape(-1)
    H = logistic.multinomial_hessian(params, X, y, l2, s)
    np.testing.assert_allclose(H, jax.hessian(of_theta)(theta), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_weighted_binary_grad_and_hessian_equal_jax(l2):
    rng = np.random.default_rng(1)
    X, y = jnp.asarray(rng.normal(size=(25, 3))), jnp.asarray(rng.integers(0, 2, 25))
    params = {"w": jnp.asarray(rng.normal(size=3)), "b": jnp.asarray(0.4)}
    s = _weights(25)
    manual = logistic.grad(params, X, y, l2, s)
    auto = jax.grad(logistic.nll)(params, X, y, l2, s)
    for key in ("w", "b"):
        np.testing.assert_allclose(manual[key], auto[key], rtol=1e-10, atol=1e-15)
    of_theta = lambda t: logistic.nll({"w": t[:3], "b": t[3]}, X, y, l2, s)
    theta = jnp.concatenate([params["w"], params["b"][None]])
    np.testing.assert_allclose(
        logistic.hessian(params, X, y, l2, s),
        jax.hessian(of_theta)(theta),
        rtol=1e-10,
        atol=1e-15,
    )


def test_weights_are_a_weighted_mean():
    # integer weights are repeated rows: the weighted NLL equals the NLL of the repeated set
    params, X, y = _multinomial_problem(2)
    counts = np.array([0, 1, 2, 3] * 7 + [1, 2])
    repeated = np.repeat(np.arange(len(counts)), counts)
    np.testing.assert_allclose(
        logistic.multinomial_nll(params, X, y, 0.1, counts),
        logistic.multinomial_nll(params, X[repeated], y[repeated], 0.1),
        rtol=1e-13,
    )


def test_minimize_backtracks_where_the_plain_newton_step_overshoots():
    # f = √(1 + x²): the full Newton step from x maps it to −x³ and diverges for |x| > 1;
    # the backtracking line search converges.
    f = lambda x: jnp.sum(jnp.sqrt(1 + x**2))
    g = lambda x: x / jnp.sqrt(1 + x**2)
    h = lambda x: jnp.diag((1 + x**2) ** -1.5)
    result = newton.minimize(f, g, h, jnp.array([2.0]), steps=50, tol=1e-12)
    assert abs(float(result.x[0])) < 1e-12 and not bool(result.stalled)


# ------------------------------------------------------------ equal to scikit-learn


def _assert_coefficients_equal(ours, ref):
    """rtol 1e-6, entries near 0 (digits: |w| ~ 1e-7) to 1e-6 of the largest coefficient."""
    scale = np.max(np.abs(ref.coef_))
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name", ["breast_cancer", "iris", "wine", "digits"])
def test_logistic_regression_equals_scikit_learn(name):
    X, y = _table(name)
    ref = linear_model.LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    ours = LogisticRegression(tol=1e-10).fit(X, y)
    _assert_coefficients_equal(ours, ref)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert 1 <= ours.n_iter_[0] <= 20  # Newton: a handful of steps


@pytest.mark.parametrize(
    "options",
    [
        {"fit_intercept": False},
        {"class_weight": "balanced"},
        {"class_weight": {0: 2.0, 1: 0.5, 2: 1.0}},
        {"C": 0.05},
        {"penalty": None},
    ],
)
@pytest.mark.parametrize("binary", [False, True])
def test_logistic_regression_options_and_sample_weight_equal_scikit_learn(
    options: dict[str, Any], binary
):
    X, y = _table("wine")
    if binary:
        y = (y == 1).astype(int)
        if "class_weight" in options and isinstance(options["class_weight"], dict):
            options = {"class_weight": {0: 2.0, 1: 0.5}}
    s = _weights(len(y))
    ref_options: dict[str, Any] = dict(options)
    if ref_options.pop("penalty", "l2") is None:
        ref_options["C"] = np.inf  # scikit-learn 1.9's spelling of no penalty
    ref = linear_model.LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=1000)
    ref.set_params(**ref_options).fit(X, y, sample_weight=s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # penalty=None on wine: separable
        ours = LogisticRegression(tol=1e-10, **options).fit(X, y, sample_weight=s)
    if options.get("penalty", "l2") is None:
        # unpenalized on a separable table: both solutions run off to infinity,
        # equal only in the classes they give
        np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
        return
    _assert_coefficients_equal(ours, ref)


def test_separable_data_without_penalty_warns():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(20, 2)) + 4, rng.normal(size=(20, 2)) - 4]
    y = np.r_[np.ones(20), np.zeros(20)]
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        LogisticRegression(penalty=None).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # with a penalty the optimum is finite: no warning
        LogisticRegression().fit(X, y)


def test_max_iter_reached_warns():
    X, y = _table("digits")
    with pytest.warns(ConvergenceWarning, match="max_iter=1 reached"):
        clf = LogisticRegression(max_iter=1).fit(X[:300], y[:300])
    assert clf.n_iter_[0] == 1


def test_decision_function_and_probabilities():
    X, y = _table("breast_cancer")
    clf = LogisticRegression().fit(X, y)
    z = clf.decision_function(X)
    assert z.shape == (len(y),)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-12)
    X, y = _table("iris")
    clf = LogisticRegression().fit(X, y)
    assert clf.decision_function(X).shape == (len(y), 3) and clf.coef_.shape == (3, 4)


@pytest.mark.parametrize("estimator", ["linear", "ridge"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_linear_and_ridge_equal_scikit_learn(estimator, fit_intercept, outputs, weighted):
    X, y = datasets.load_diabetes(return_X_y=True)
    if outputs == 2:
        y = np.c_[y, np.sqrt(y)]
    s = _weights(len(X)) if weighted else None
    ours, ref = (
        (LinearRegression(), linear_model.LinearRegression())
        if estimator == "linear"
        else (Ridge(alpha=3.0), linear_model.Ridge(alpha=3.0))
    )
    ours.set_params(fit_intercept=fit_intercept).fit(X, y, sample_weight=s)
    ref.set_params(fit_intercept=fit_intercept).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-12)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)


def test_ridge_is_the_course_closed_form():
    X, y = datasets.load_diabetes(return_X_y=True)
    params = linear.solve(X, y, 3.0 / len(X))  # Ridge(alpha) is l2 = alpha / m
    np.testing.assert_allclose(Ridge(alpha=3.0).fit(X, y).coef_, params["w"], rtol=1e-12)


@pytest.mark.parametrize(
    ("estimator", "name"),
    [
        (LogisticRegression(C=-1.0), "C"),
        (LogisticRegression(penalty="l1"), "penalty"),
        (LogisticRegression(max_iter=0), "max_iter"),
        (LogisticRegression(class_weight="nope"), "class_weight"),
        (Ridge(alpha=-1.0), "alpha"),
        # a string where a bool belongs, on purpose
        (LinearRegression(fit_intercept="yes"), "fit_intercept"),  # pyright: ignore[reportArgumentType]
    ],
)
def test_bad_parameters_name_themselves(estimator, name):
    X, y = _table("iris")
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        estimator.fit(X, y)


# ------------------------------------------------------------ scikit-learn's contract


# Many tiny fits of new shapes, one compile each: marked slow as the MLPs' checks are.
@pytest.mark.slow
@parametrize_with_checks([LogisticRegression(), LinearRegression(), Ridge()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("search_class", [SkGridSearchCV, GridSearchCV])
def test_pipeline_grid_search_and_pickle(search_class):
    X, y = datasets.load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    search = search_class(pipe, {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
    search.fit(X, y)
    reference = SkGridSearchCV(
        make_pipeline(StandardScaler(), linear_model.LogisticRegression(tol=1e-10)),
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
        cv=3,
    ).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"], atol=1e-12
    )
    back = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(back.predict_proba(X), search.predict_proba(X))


@pytest.mark.parametrize(
    ("estimator", "grid"),
    [
        (LogisticRegression(tol=1e-10), {"C": [0.01, 0.1, 1.0, 10.0]}),
        (LogisticRegression(tol=1e-10, class_weight="balanced"), {"C": [0.1, 1.0]}),
        (Ridge(), {"alpha": [0.1, 1.0, 10.0]}),
        (Ridge(), {"alpha": [0.1, 1.0], "fit_intercept": [True, False]}),
        (LinearRegression(), {"fit_intercept": [True, False]}),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_batched_grid_equals_one_fit_per_candidate(estimator, grid, weighted):
    # ours solves every (candidate × fold) in one vmapped program per structure, the folds
    # padded with rows of weight 0; scikit-learn's GridSearchCV fits them one by one
    if isinstance(estimator, LogisticRegression):
        X, y = _table("wine")
    else:
        X, y = datasets.load_diabetes(return_X_y=True)
    fit_params = {"sample_weight": _weights(len(y))} if weighted else {}
    ours = GridSearchCV(estimator, grid, cv=4).fit(X, y, **fit_params)  # folds of unequal sizes
    ref = SkGridSearchCV(estimator, grid, cv=4).fit(X, y, **fit_params)
    assert ours.batched_
    for k in range(4):
        np.testing.assert_allclose(
            ours.cv_results_[f"split{k}_test_score"],
            ref.cv_results_[f"split{k}_test_score"],
            rtol=1e-9,
        )
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(ours.best_estimator_.coef_, ref.best_estimator_.coef_, rtol=1e-12)


def test_batched_grid_in_a_pipeline_with_sample_weight():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(tol=1e-10))
    grid = {"logisticregression__C": [0.1, 1.0]}
    w = {"logisticregression__sample_weight": _weights(len(y))}
    ours = GridSearchCV(pipe, grid, cv=3).fit(X, y, **w)
    ref = SkGridSearchCV(pipe, grid, cv=3).fit(X, y, **w)
    assert ours.batched_
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-12
    )


def test_docs_example_runs():
    page = (Path(__file__).resolve().parents[2] / "docs" / "sklearn.md").read_text()
    section = page[page.index("## The course's linear models") :]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    namespace: dict = {}
    exec(compile(code, "docs/sklearn.md#linear-models", "exec"), namespace)
    assert namespace["search"].batched_ and namespace["search"].best_score_ > 0.9
