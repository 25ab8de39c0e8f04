"""nnbasics.sklearn: scikit-learn's estimator checks, Pipeline, search tools, pickle."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnbasics.sklearn import MLPClassifier, MLPRegressor


# The full check suite makes ~200 tiny fits of new shapes (one compile each): 5.5 min
# on the shared 2-core machine under load 9, so it is marked slow.
@pytest.mark.slow
@parametrize_with_checks(
    [
        # float64: the sample-weight equivalence check compares probabilities at rtol 1e-7
        MLPClassifier(max_iter=50, random_state=0, dtype="float64"),
        MLPRegressor(max_iter=50, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def test_pipeline_pickle_and_attributes():
    X, y = _iris()
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier((16,), batch_size=16, learning_rate_init=1e-2, max_iter=30, random_state=0),
    )
    pipe.fit(X, y)
    clf = pipe[-1]
    assert clf.n_features_in_ == 4
    assert [W.shape for W in clf.coefs_] == [(4, 16), (16, 3)]
    assert all(type(W) is np.ndarray for W in clf.coefs_ + clf.intercepts_)
    assert len(clf.loss_curve_) == clf.n_iter_ == 30
    back = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(back.predict_proba(X), pipe.predict_proba(X))
    assert pipe.score(X, y) > 0.8


def test_alpha_is_scikit_learns_per_batch_penalty():
    # l2 = alpha / batch: with alpha = 0 training is unpenalized, and a large alpha shrinks
    # the weights; alpha equal to the batch size gives nb.fit's l2 = 1.
    X, y = _iris()
    small = MLPClassifier((8,), alpha=0.0, max_iter=20, random_state=0).fit(X, y)
    big = MLPClassifier((8,), alpha=150.0, max_iter=20, random_state=0).fit(X, y)
    assert np.abs(big.coefs_[0]).sum() < np.abs(small.coefs_[0]).sum()


def test_bad_parameters_raise_one_line_value_errors():
    X, y = _iris()
    for kwargs, name in [
        ({"solver": "nope"}, "solver"),
        ({"alpha": -1.0}, "alpha"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype": "int8"}, "dtype"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}:"):
            MLPClassifier(max_iter=1, **kwargs).fit(X, y)


def test_grid_search_and_cross_val_score():
    X, y = _iris()
    est = MLPClassifier((8,), max_iter=10, random_state=0)
    scores = cross_val_score(est, X, y, cv=3)
    assert scores.shape == (3,)
    gs = GridSearchCV(est, {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]}, cv=3)
    gs.fit(X, y)
    assert len(gs.cv_results_["params"]) == 4
    assert gs.best_estimator_.n_iter_ == 10


def test_docs_examples_run():
    page = (Path(__file__).parents[2] / "docs" / "sklearn.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == 3
    for i, code in enumerate(blocks):
        namespace = {}
        exec(compile(code, f"docs/sklearn.md#{i}", "exec"), namespace)
        assert namespace["search"].best_score_ > (0.5 if i == 0 else -1.0)
    assert namespace["search"].batched_
