"""scikit-learn estimators over ``nb.MLP`` and ``nb.fit``, and the course's linear models.

``LogisticRegression`` (damped Newton's method on hand-written derivatives),
``LinearRegression`` and ``Ridge`` (the closed form) reach scikit-learn's optimum.

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's constructor names
where the meaning is the same, train with ``nb.fit`` (hand-written backprop by
default) and keep their fitted state as NumPy arrays, so they pickle, clone and
sit inside ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

The penalty matches scikit-learn's: its loss adds ``alpha/(2·B)·Σ‖W‖²`` per
minibatch of size ``B``; ``nb.fit`` adds ``(l2/2)·Σ‖W‖²`` to the batch mean,
so ``l2 = alpha / B``. See docs/sklearn.md for the differences that remain.
"""

from nnbasics.sklearn._linear import LinearRegression, LogisticRegression, Ridge
from nnbasics.sklearn._mlp import MLPClassifier, MLPRegressor
from nnbasics.sklearn._search import GridSearchCV, RandomizedSearchCV

__all__ = [
    "GridSearchCV",
    "LinearRegression",
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "RandomizedSearchCV",
    "Ridge",
]
