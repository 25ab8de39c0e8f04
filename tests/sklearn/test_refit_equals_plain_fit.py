"""GridSearchCV's refit model is a plain fit of the best parameters, bit for bit.

Every fitted array (all weights and biases of a two-hidden-layer net),
``n_iter_``, the loss curve, ``best_loss_`` and the predictions are compared with
``clone(estimator).set_params(**best_params_).fit(X, y)``: equal, not close.
(A search with ``early_stopping`` runs scikit-learn's own loop and refit.)
"""

from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from nnbasics.sklearn import GridSearchCV, MLPClassifier


@pytest.fixture(scope="module")
def iris():
    X, y = (np.asarray(a) for a in load_iris(return_X_y=True))
    return (X - X.mean(0)) / X.std(0), y


CASES = {
    "all-epochs": (
        MLPClassifier((5, 4), batch_size=32, max_iter=6, random_state=0, dtype="float64"),
        {"learning_rate_init": [3e-3, 3e-2], "alpha": [1e-4, 1.0]},
    ),
}


def _fitted(model) -> dict:
    """Every fitted attribute that a refit could get wrong."""
    return {
        "coefs_": model.coefs_,
        "intercepts_": model.intercepts_,
        "n_iter_": model.n_iter_,
        "loss_curve_": model.loss_curve_,
        "validation_scores_": model.validation_scores_,
        "best_loss_": model.best_loss_,
        "classes_": model.classes_,
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_refit_equals_a_plain_fit(iris, case):
    estimator, grid = CASES[case]
    X, y = iris
    search = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    assert search.batched_  # nnbasics' own (vmapped) search and refit, not scikit-learn's loop
    refit = search.best_estimator_
    plain: Any = clone(estimator)
    plain.set_params(**search.best_params_).fit(X, y)
    got, expected = _fitted(refit), _fitted(plain)
    assert len(got["coefs_"]) == len(expected["coefs_"]) == len(estimator.hidden_layer_sizes) + 1
    for name in expected:
        if (
            isinstance(expected[name], list)
            and expected[name]
            and hasattr(expected[name][0], "shape")
        ):
            for a, b in zip(got[name], expected[name], strict=True):
                np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            np.testing.assert_equal(got[name], expected[name], err_msg=name)
    np.testing.assert_array_equal(refit.predict_proba(X), plain.predict_proba(X))
