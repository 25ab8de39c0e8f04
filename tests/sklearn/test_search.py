"""Searches over nnbasics.sklearn estimators: scikit-learn's own GridSearchCV /
RandomizedSearchCV, and nnbasics.sklearn's, which trains every (candidate × fold)
pair together through nnbasics.folds.train_folds and must give scikit-learn's cv_results_."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn import model_selection as ms
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnbasics as nb
from nnbasics import folds
from nnbasics import search as S
from nnbasics.sklearn import GridSearchCV, MLPClassifier, MLPRegressor, RandomizedSearchCV
from tests._helpers.compiles import count_compilations


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:120] / X[:120].std(0), (y[:120] - y[:120].mean()) / y[:120].std()


def _same_results(ours, theirs, metrics):
    for m in metrics:
        for k in [f"split{i}_test_{m}" for i in range(theirs.n_splits_)] + [
            f"mean_test_{m}",
            f"std_test_{m}",
        ]:
            np.testing.assert_allclose(ours.cv_results_[k], theirs.cv_results_[k], rtol=1e-9)
        np.testing.assert_array_equal(
            ours.cv_results_[f"rank_test_{m}"], theirs.cv_results_[f"rank_test_{m}"]
        )
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_index_ == theirs.best_index_


# One estimator and grid shared by the tests below, so that its programs compile once
# for the module (compiling, not training, is what these tests spend their time on).
EST = MLPClassifier((4,), batch_size=16, max_iter=8, random_state=0, dtype="float64")
GRID = {
    "hidden_layer_sizes": [(4,), (6,)],  # two widths: one program of the wider network
    "learning_rate_init": [3e-3, 3e-2],
    "alpha": [1e-4, 1.0],
}
MULTI = dict(cv=3, scoring=["accuracy", "neg_log_loss"], refit="neg_log_loss")


@pytest.fixture(scope="module")
def searched(iris):
    """(scikit-learn's GridSearchCV, ours) over EST and GRID; ours in chunks of 3 (+1 padded)."""
    X, y = iris
    theirs = ms.GridSearchCV(EST, GRID, **MULTI).fit(X, y)
    ours = GridSearchCV(EST, GRID, **MULTI)
    ours.chunk_size = 3
    ours.fit(X, y)
    return theirs, ours


# --- scikit-learn's own search tools


def test_sklearn_grid_search_compiles_the_training_program_once(iris):
    # The programs of EST's fit, compiled by a first search (in this test: another test's
    # jax.clear_caches() cannot come between), serve a grid of new learning rates and
    # penalties: only new inputs to them.
    X, y = iris
    ms.GridSearchCV(EST, {"alpha": [1e-2]}, cv=3, refit=False).fit(X, y)
    grid = {"learning_rate_init": [1e-2, 5e-2], "alpha": [1e-3, 1e-1]}
    with count_compilations() as c:
        search = ms.GridSearchCV(EST, grid, cv=3, refit=False).fit(X, y)
    assert c.count == 0  # 4 candidates × 3 folds: the same programs
    assert len(set(search.cv_results_["mean_test_score"])) > 1  # each used its numbers


def test_sklearn_randomized_search_and_cross_val_score(iris, searched):
    X, y = iris
    dist = {"learning_rate_init": loguniform(1e-3, 1e-1), "alpha": loguniform(1e-5, 1e-1)}
    search = ms.RandomizedSearchCV(EST, dist, n_iter=3, cv=3, random_state=0).fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    assert search.best_estimator_.n_iter_ == 8
    scores = ms.cross_val_score(clone(EST).set_params(**search.best_params_), X, y, cv=3)
    np.testing.assert_allclose(scores.mean(), search.best_score_, rtol=1e-12)


# --- nnbasics.sklearn.GridSearchCV equals scikit-learn's on the same estimator


def test_grid_search_cv_equals_sklearns(iris, searched):
    X, y = iris
    theirs, ours = searched
    assert ours.batched_
    _same_results(ours, theirs, ["accuracy", "neg_log_loss"])
    np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=1e-9)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12
    )
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), rel=1e-9)


def test_refit_compiles_on_a_thread_while_the_search_runs(iris, fresh_programs):
    # A hidden width no other test uses, so every program is new to this process
    # (training sizes share programs: a row bucket serves many).
    X, y = iris
    est = clone(EST).set_params(hidden_layer_sizes=(11,))
    grid = {"learning_rate_init": [1e-2, 5e-2], "alpha": [1e-3, 1e-1]}
    with count_compilations() as c:
        search = GridSearchCV(est, grid, cv=3).fit(X, y)
    on = {thread for thread, name in c.programs if name == "jit(epoch)"}
    assert on == {"nnbasics-refit-warmup"}  # the refit's epoch: compiled beside the search
    ref = clone(est).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.best_estimator_.coefs_[0], ref.coefs_[0])


def test_a_failing_search_waits_for_its_refit_warmup(iris, monkeypatch):
    # A warmup thread still compiling when the interpreter exits aborts the process
    # after the error: the search's error comes only once the thread has ended.
    import threading

    X, y = iris

    def fail(self, *args):
        raise RuntimeError("a failing fold")

    monkeypatch.setattr(GridSearchCV, "_train_and_score", fail)
    with pytest.raises(RuntimeError, match="a failing fold"):
        GridSearchCV(EST, {"alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert not [t for t in threading.enumerate() if t.name == "nnbasics-refit-warmup"]


def test_second_search_with_new_numbers_compiles_nothing(iris):
    X, y = iris
    first = GridSearchCV(EST, GRID, cv=3, refit=False)
    first.chunk_size = 3
    first.fit(
        X, y
    )  # its program, in this test: another test's jax.clear_caches() cannot come between
    # 6 candidates of the same two widths: two full chunks of the first search's program
    grid = {"hidden_layer_sizes": [(4,), (6,)], "learning_rate_init": [2e-3, 2e-2, 1e-1]}
    with count_compilations() as c:
        search = GridSearchCV(EST, grid, cv=3, refit=False)
        search.chunk_size = 3
        search.fit(X, y)
    assert c.count == 0
    assert (
        search.batched_ and search.best_params_["learning_rate_init"] in grid["learning_rate_init"]
    )


def test_pipeline_regression_and_randomized_search_equal_sklearns(diabetes):
    X, y = diabetes
    pipe = make_pipeline(
        StandardScaler(),
        MLPRegressor((6,), batch_size=32, max_iter=6, random_state=1, dtype="float64"),
    )
    dist = {
        "mlpregressor__learning_rate_init": loguniform(1e-3, 1e-1),
        "mlpregressor__alpha": loguniform(1e-4, 1e0),
    }
    kw = dict(
        n_iter=3,
        cv=ms.KFold(3, shuffle=True, random_state=0),
        scoring={"r2": "r2", "mse": "neg_mean_squared_error"},
        refit="mse",
        random_state=0,
        return_train_score=True,
    )
    theirs = ms.RandomizedSearchCV(pipe, dist, **kw).fit(X, y)
    ours = RandomizedSearchCV(pipe, dist, **kw).fit(X, y)
    assert ours.batched_
    _same_results(ours, theirs, ["r2", "mse"])
    for i in range(3):
        np.testing.assert_allclose(
            ours.cv_results_[f"split{i}_train_mse"], theirs.cv_results_[f"split{i}_train_mse"]
        )
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)


def test_other_estimators_run_scikit_learns_loop(iris):
    X, y = iris
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert not search.batched_
    theirs = ms.GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("through", ["sparse X", "a Pipeline's OneHotEncoder"])
def test_sparse_folds_run_scikit_learns_loop_over_the_sparse_fit(through):
    # Sparse folds are not stacked: each candidate is the estimator's own sparse fit.
    import scipy.sparse
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    est = MLPClassifier((4,), batch_size=10, max_iter=3, random_state=0, dtype="float64")
    if through == "sparse X":
        X = scipy.sparse.random(60, 5, density=0.5, random_state=0, format="csr")
        grid = {"alpha": [1e-4, 1e-1]}
    else:
        X = rng.integers(0, 4, (60, 2))
        est = make_pipeline(OneHotEncoder(), est)
        grid = {"mlpclassifier__alpha": [1e-4, 1e-1]}
    y = rng.integers(0, 2, 60)
    kw = dict(cv=3, scoring="neg_log_loss")
    ours = GridSearchCV(est, grid, **kw).fit(X, y)
    theirs = ms.GridSearchCV(est, grid, **kw).fit(X, y)
    assert not ours.batched_
    _same_results(ours, theirs, ["score"])
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)


def test_train_folds_rejects_bad_input_before_training():
    X, y = nb.data.load("iris")
    net = nb.MLP((4, 8, 3))
    configs = S.grid(learning_rate=[1e-2, 1e-1])
    with pytest.raises(ValueError, match="^folds:"):
        folds.train_folds(net, [], configs=configs, epochs=1)
    with pytest.raises(ValueError, match="^folds\\[1\\]:"):
        folds.train_folds(net, [(X, y), X], configs=configs, epochs=1)
    with pytest.raises(ValueError, match="^seeds:"):
        folds.train_folds(net, [(X, y)], configs=configs, epochs=1, seeds=np.zeros((2, 2), int))
    for top in (-1, 2**32):  # a seed outside uint32 would wrap into another seed
        with pytest.raises(ValueError, match="^seeds:") as e:
            folds.train_folds(net, [(X, y)], configs=configs, epochs=1, seeds=[[0], [top]])
        assert str(e.value) == (
            f"seeds: expected ints in [0, 2**32), received range [{min(0, top)}, {max(0, top)}]"
        )
    with pytest.raises(ValueError, match="learning_rate"):
        folds.train_folds(net, [(X, y)], configs=[{"l2": 0.1}], epochs=1, dtype=jnp.float64)


def test_train_folds_checks_each_folds_sample_weights_against_its_rows():
    X, y = nb.data.load("iris")
    net = nb.MLP((4, 8, 3))
    configs = S.grid(learning_rate=[1e-2])
    pairs = [(X[:90], y[:90]), (X[:60], y[:60])]
    with pytest.raises(ValueError, match="^sample_weight") as e:
        folds.train_folds(
            net, pairs, configs=configs, epochs=1, sample_weights=[np.ones(90), np.ones(90)]
        )
    assert str(e.value) == (
        "sample_weight: expected numbers of shape (60,), one per example, received float64 (90,)"
    )
