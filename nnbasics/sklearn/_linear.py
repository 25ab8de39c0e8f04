"""``LogisticRegression``, ``LinearRegression`` and ``Ridge``: part of ``nnbasics.sklearn``.

The course's first models as scikit-learn estimators, solved by the course's
own methods: logistic regression (binary and multinomial) by damped Newton's
method (:func:`nnbasics.newton.minimize`) on the hand-written gradients and
Hessians of :mod:`nnbasics.logistic`; linear regression and ridge by the
closed form :func:`nnbasics.linear.solve`. Every solve runs in float64.

Objectives, with per-example weights s (``sample_weight`` times
``class_weight``; 1 without them):

- ``LogisticRegression``: scikit-learn's ½‖w‖² + C·Σᵢ sᵢ·loglossᵢ, minimized as
  its mean form Σᵢ sᵢ loglossᵢ / Σs + (l2/2)‖w‖² with l2 = 1/(C·Σs) (the same
  minimizer; ``penalty=None`` or C = inf is l2 = 0).
- ``Ridge``: Σᵢ sᵢ‖yᵢ − xᵢw − b‖² + alpha·‖w‖², the mean form with l2 = alpha/Σs.
- ``LinearRegression``: the same with alpha = 0 (least squares, minimum norm).
"""

from __future__ import annotations

import numbers
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from nnbasics import _checks, compilation, linear, logistic
from nnbasics.sklearn._mlp import clone

__all__ = ["LinearRegression", "LogisticRegression", "Ridge"]


# --------------------------------------------------------------- logistic regression


def _objective(n_classes: int, fit_intercept: bool):
    """(f, grad, hessian) of θ for data (X, y, s) and l2: the Newton solve's three functions.

    θ = [w; b] (d+1,) for two classes (the course's binary model, class 1 positive),
    else [w; b] (d+1, K) flattened row-major (the multinomial one). Without an
    intercept b stays 0: its gradient is masked and its Hessian rows are the identity's.
    """

    def parts(theta, d):
        if n_classes == 2:
            return {"w": theta[:d], "b": theta[d]}
        table = theta.reshape(d + 1, n_classes)
        return {"w": table[:d], "b": table[d]}

    def flat(tree):
        if n_classes == 2:
            return jnp.concatenate([tree["w"], tree["b"][None]])
        return jnp.concatenate([tree["w"], tree["b"][None]]).reshape(-1)

    nll, grad, hess = (
        (logistic.nll, logistic.grad, logistic.hessian)
        if n_classes == 2
        else (logistic.multinomial_nll, logistic.multinomial_grad, logistic.multinomial_hessian)
    )

    def make(X, y, s, l2):
        d = X.shape[1]
        width = 1 if n_classes == 2 else n_classes
        free = jnp.ones((d + 1, width), X.dtype).at[d].set(float(fit_intercept)).reshape(-1)

        def f(theta):
            return nll(parts(theta, d), X, y, l2, s)

        def g(theta):
            return free * flat(grad(parts(theta, d), X, y, l2, s))

        def h(theta):
            H = free[:, None] * hess(parts(theta, d), X, y, l2, s) * free[None, :]
            H = H + jnp.diag(1.0 - free)
            if n_classes > 2:
                # The multinomial model is unchanged by adding one vector to every class
                # (H is singular along it; ∇J is orthogonal to it): the projection onto
                # those directions, added to H, makes the system solvable and leaves the
                # step, which lies in the other directions, as it was.
                H = H + jnp.kron(
                    jnp.eye(d + 1, dtype=H.dtype), jnp.full((width, width), 1.0 / width, H.dtype)
                )
            return H

        return f, g, h, (d + 1) * width

    return make


def _solve_logistic(X, y, s, l2, tol, max_iter, *, n_classes, fit_intercept):
    """Damped Newton from θ = 0; returns (θ, steps, max|∇J|, stalled). Vmappable over all inputs."""
    from nnbasics import newton  # (and jax.flatten_util) imported by the first fit

    f, g, h, size = _objective(n_classes, fit_intercept)(X, y, s, l2)
    result = newton.minimize(f, g, h, jnp.zeros(size, X.dtype), steps=max_iter, tol=tol)
    return result.x, result.steps, result.grad_norm, result.stalled


def _logistic_program(n_classes: int, fit_intercept: bool, batched: bool):
    """The jitted solve (vmapped over candidates × folds when ``batched``), cached."""

    compilation.use_default_cache()  # as nb.fit: a second process loads the program

    def make():
        solve = lambda X, y, s, l2, tol, max_iter: _solve_logistic(
            X, y, s, l2, tol, max_iter, n_classes=n_classes, fit_intercept=fit_intercept
        )
        if batched:
            # l2 (C, F): one lane per (candidate, fold); the folds' data (F, n, d) shared.
            over_folds = jax.vmap(solve, in_axes=(0, 0, 0, 0, None, None))
            solve = jax.vmap(over_folds, in_axes=(None, None, None, 0, None, None))
        return jax.jit(solve)

    from nnbasics.train._epoch import _program  # imported by the first fit

    return _program(("sklearn logistic", n_classes, fit_intercept, batched), make)


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression solved by damped Newton's method on hand-written derivatives.

    Two classes: the course's binary model p(y = classes_[1] | x) = σ(x·w + b)
    (:func:`nnbasics.logistic.nll`, ``grad``, ``hessian``); more: the multinomial
    one, softmax(x W + b) (:func:`nnbasics.logistic.multinomial_nll`, ...).
    It minimizes scikit-learn's objective ½‖w‖² + C Σᵢ sᵢ logloss(xᵢ, yᵢ) (intercept
    not penalized), as its mean form with l2 = 1/(C·Σs), by
    :func:`nnbasics.newton.minimize` from 0 until max|∇J| ≤ ``tol``, so ``coef_`` and
    ``intercept_`` are scikit-learn's ``LogisticRegression`` (lbfgs, newton-cg)
    optimum. ``X`` (n, d) → ``predict_proba`` (n, K).

    Args:
      penalty: "l2" or None (no penalty; the same as C = inf).
      C: inverse penalty strength, > 0 (inf: no penalty).
      fit_intercept: fit b.
      tol: stop once max|∇J| ≤ tol (J the mean form).
      max_iter: the most Newton steps.
      class_weight: None, "balanced" or a dict {class: weight}, multiplying
        ``sample_weight`` as scikit-learn's does.

    Attributes:
      classes_ (K,), coef_ (1, d) for two classes else (K, d), intercept_ (1,) or
      (K,), n_iter_ (1,): the Newton steps taken, n_features_in_.

    Examples:
      >>> import numpy as np
      >>> X = np.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
      >>> clf = LogisticRegression(C=10.0).fit(X, ["a", "b", "a", "b", "b"])
      >>> clf.coef_.shape, clf.predict(np.array([[-3.0], [3.0]])).tolist()
      ((1, 1), ['a', 'b'])
    """

    def __init__(
        self,
        penalty: str | None = "l2",
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        tol: float = 1e-4,
        max_iter: int = 100,
        class_weight: str | dict | None = None,
    ):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight

    def _check_params(self):
        _checks.one_of("penalty", self.penalty, ("l2", None))
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not self.C > 0:
            _checks.fail("C", "a number > 0 (inf: no penalty)", _checks.shown(self.C))
        _checks.non_negative("tol", self.tol)
        _checks.positive_int("max_iter", self.max_iter)
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            _checks.fail("fit_intercept", "True or False", _checks.shown(self.fit_intercept))
        if not (self.class_weight in (None, "balanced") or isinstance(self.class_weight, dict)):
            _checks.fail(
                "class_weight", "None, 'balanced' or a dict", _checks.shown(self.class_weight)
            )

    def _prepare(self, X, y, sample_weight=None):
        """Validated (X float64, labels 0..K−1, weights s (n,), K); sets classes_."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "y: expected at least 2 classes, received 1 class "
                f"({self.classes_[0]!r}): the data contains only one class"
            )
        s = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if self.class_weight is not None:
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y, sample_weight=s
            )
            s = s * per_class[encoded]
        if not s.sum() > 0:
            _checks.fail("sample_weight", "weights >= 0 with a positive sum", "a sum of 0")
        return X, encoded.astype(np.int32), s, len(self.classes_)

    def _l2(self, total):
        """The mean form's l2 = 1/(C·Σs); 0 without a penalty."""
        return 0.0 if self.penalty is None or np.isinf(self.C) else 1.0 / (float(self.C) * total)

    def fit(self, X, y, sample_weight=None):
        """Fits by damped Newton's method; ``sample_weight`` (n,) weights each example's loss."""
        X, labels, s, k = self._prepare(X, y, sample_weight)
        solve = _logistic_program(k, bool(self.fit_intercept), False)
        with jax.enable_x64(True):
            out = jax.device_get(
                solve(X, labels, s, self._l2(s.sum()), float(self.tol), int(self.max_iter))
            )
        return self._set_fitted(*out, X=X, labels=labels, s=s)

    def _set_fitted(self, theta, steps, grad_norm, stalled, *, X, labels, s):
        """Stores a solve's θ as coef_ / intercept_ (and warns as scikit-learn would)."""
        k, d = len(self.classes_), X.shape[1]
        table = np.asarray(theta, np.float64).reshape(d + 1, 1 if k == 2 else k)
        self.coef_ = np.ascontiguousarray(table[:d].T)
        self.intercept_ = table[d].copy()
        self.n_iter_ = np.array([int(steps)], np.int32)
        separable = self._l2(s.sum()) == 0.0 and self._separates(X, labels, s)
        if separable:
            warnings.warn(
                "LogisticRegression: the classes are linearly separable and there is no "
                "penalty, so the optimum is at infinity: the coefficients returned "
                f"(after {int(steps)} Newton steps, max|∇J| = {float(grad_norm):.3g}) grow "
                "without bound as tol decreases. Use penalty='l2' with a finite C.",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif float(grad_norm) > float(self.tol):
            why = (
                "a step found no decrease (the Hessian is singular there)"
                if bool(stalled)
                else f"max_iter={self.max_iter} reached"
            )
            warnings.warn(
                f"LogisticRegression: Newton's method stopped before max|∇J| <= tol={self.tol} "
                f"(max|∇J| = {float(grad_norm):.3g} after {int(steps)} steps): {why}. "
                "Increase max_iter, or scale the data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _separates(self, X, labels, s):
        """Whether the fitted model classifies every weighted training example correctly."""
        rows = s > 0
        return bool(np.all(self._predict_codes(X[rows]) == labels[rows]))

    def decision_function(self, X):
        """x·w + b: (n,) for two classes (the positive class's score), else (n, K)."""
        check_is_fitted(self, "coef_")
        # an array already; scikit-learn's validate_data declares no return type
        X = np.asarray(validate_data(self, X, reset=False, dtype=np.float64))
        z = X @ self.coef_.T + self.intercept_
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X):
        """Class probabilities (n, K), columns in the order of ``classes_``."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.stack([expit(-z), expit(z)], axis=1)
        return softmax(z, axis=1)

    def predict_log_proba(self, X):
        """log ``predict_proba``, computed from the scores (finite where probabilities underflow)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return np.stack([log_expit(-z), log_expit(z)], axis=1)
        return log_softmax(z, axis=1)

    def _predict_codes(self, X):
        z = X @ self.coef_.T + self.intercept_
        return (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)

    def predict(self, X):
        """The most probable class of each row."""
        z = self.decision_function(X)
        codes = (z > 0).astype(int) if z.ndim == 1 else np.argmax(z, axis=1)
        return self.classes_[codes]


# ----------------------------------------------------------------- linear regression


def _solve_linear(X, y, s, l2, *, fit_intercept):
    params = linear.solve(X, y, l2, s, fit_intercept=fit_intercept)
    return params["w"], params["b"]


def _linear_program(fit_intercept: bool, batched: bool):
    compilation.use_default_cache()

    def make():
        solve = lambda X, y, s, l2: _solve_linear(X, y, s, l2, fit_intercept=fit_intercept)
        if batched:
            over_folds = jax.vmap(solve, in_axes=(0, 0, 0, 0))
            solve = jax.vmap(over_folds, in_axes=(None, None, None, 0))
        return jax.jit(solve)

    from nnbasics.train._epoch import _program  # imported by the first fit

    return _program(("sklearn linear", fit_intercept, batched), make)


class _LinearModel(RegressorMixin, BaseEstimator):
    """Least squares with an optional ridge penalty, by :func:`nnbasics.linear.solve`."""

    fit_intercept: bool

    def _alpha(self):
        return 0.0

    def _check_params(self):
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            _checks.fail("fit_intercept", "True or False", _checks.shown(self.fit_intercept))

    def _prepare(self, X, y, sample_weight=None):
        """Validated (X float64, y (n,) or (n, k), weights s (n,))."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        y = np.asarray(y, np.float64)
        s = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not s.sum() > 0:
            _checks.fail("sample_weight", "weights >= 0 with a positive sum", "a sum of 0")
        return X, y, s

    def fit(self, X, y, sample_weight=None):
        """Solves the (weighted) normal equations; ``y`` (n,) or (n, k)."""
        X, y, s = self._prepare(X, y, sample_weight)
        solve = _linear_program(bool(self.fit_intercept), False)
        with jax.enable_x64(True):
            w, b = jax.device_get(solve(X, y, s, self._alpha() / s.sum()))
        return self._set_fitted(w, b)

    def _set_fitted(self, w, b):
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        self.coef_ = np.ascontiguousarray(w.T)  # (d,) or (k, d), as scikit-learn's
        # scikit-learn's: a float without an intercept or for one target, else (k,)
        self.intercept_ = b if b.ndim and self.fit_intercept else float(b.ravel()[0])
        return self

    def predict(self, X):
        """x·w + b: (n,) for a 1-D target, (n, k) for a 2-D one."""
        check_is_fitted(self, "coef_")
        X = np.asarray(validate_data(self, X, reset=False, dtype=np.float64))
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LinearRegression(_LinearModel):
    """Ordinary least squares: min Σᵢ sᵢ‖yᵢ − xᵢw − b‖², by :func:`nnbasics.linear.solve`.

    The closed form of the course (l2 = 0; the minimum-norm w where X is rank
    deficient), equal to scikit-learn's ``LinearRegression``. ``X`` (n, d), ``y``
    (n,) or (n, k) → ``coef_`` (d,) or (k, d), ``intercept_`` a float or (k,).

    Examples:
      >>> import numpy as np
      >>> X = np.array([[0.0], [1.0], [2.0]])
      >>> reg = LinearRegression().fit(X, 2 * X[:, 0] + 1)
      >>> reg.coef_.round(6).tolist(), round(reg.intercept_, 6)
      ([2.0], 1.0)
    """

    def __init__(self, *, fit_intercept=True):
        self.fit_intercept = fit_intercept


class Ridge(_LinearModel):
    """Ridge regression: min Σᵢ sᵢ‖yᵢ − xᵢw − b‖² + alpha·‖w‖², by :func:`nnbasics.linear.solve`.

    The course's ridge closed form with l2 = alpha / Σs (the intercept not
    penalized), equal to scikit-learn's ``Ridge``.

    Examples:
      >>> import numpy as np
      >>> X = np.array([[0.0], [1.0], [2.0]])
      >>> Ridge(alpha=2.0).fit(X, 2 * X[:, 0]).coef_.round(6).tolist()  # 2·Σx_c² / (Σx_c² + 2)
      [1.0]
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def _alpha(self):
        return float(self.alpha)

    def _check_params(self):
        super()._check_params()
        _checks.non_negative("alpha", self.alpha)


# ------------------------------------------------------------------- batched grids


def grid_parameter(estimator) -> str | None:
    """The numeric parameter a batched grid search solves for at once: C, alpha or None."""
    if isinstance(estimator, LogisticRegression):
        return "C"
    if isinstance(estimator, Ridge):
        return "alpha"
    return "" if isinstance(estimator, LinearRegression) else None


def fit_grid(members, folds) -> np.ndarray:
    """Fits ``members[c][f]`` (unfitted estimators) on fold ``f``'s data, solves batched.

    ``folds[f]`` is (X, y, sample_weight or None). Candidates that differ only in
    ``C`` (``alpha``) share one compiled solve vmapped over (candidate × fold): the
    folds are padded to the largest with rows of weight 0, which leaves each
    solution as it is, and l2 = 1/(C·Σs) (alpha/Σs) is an input of the program.
    Groups whose folds disagree on the classes fit one at a time.

    Returns:
      (C, F) seconds, each group's solve time shared equally by its pairs.
    """
    numeric = grid_parameter(members[0][0])
    groups: dict = {}
    for c, row in enumerate(members):
        params = row[0].get_params()
        key = tuple(sorted((k, repr(v)) for k, v in params.items() if k != numeric))
        groups.setdefault(key, []).append(c)
    seconds = np.zeros((len(members), len(folds)))
    for cands in groups.values():
        start = time.time()
        prepared = []
        for f, (X, y, w) in enumerate(folds):
            template = clone(members[cands[0]][f])
            prepared.append((template, template._prepare(X, y, w)))
        k = {len(getattr(t, "classes_", ())) for t, _ in prepared}
        if len(k) > 1:
            for c in cands:
                for f, (X, y, w) in enumerate(folds):
                    members[c][f].fit(X, y, sample_weight=w)
        else:
            _solve_group(members, cands, prepared)
        seconds[cands] = (time.time() - start) / (len(cands) * len(folds))
    return seconds


def _solve_group(members, cands, prepared):
    """One vmapped solve for candidates ``cands`` × every fold; stores the fitted members."""
    n = max(data[0].shape[0] for _, data in prepared)

    def padded(a, fill_row):
        extra = n - a.shape[0]
        return np.concatenate([a, np.repeat(a[fill_row : fill_row + 1], extra, 0)]) if extra else a

    X = np.stack([padded(data[0], 0) for _, data in prepared])
    y = np.stack([padded(data[1], 0) for _, data in prepared])
    s = np.stack([np.r_[data[2], np.zeros(n - len(data[2]))] for _, data in prepared])
    first = members[cands[0]][0]
    totals = s.sum(axis=1)
    if isinstance(first, LogisticRegression):
        l2 = np.array([[members[c][0]._l2(t) for t in totals] for c in cands])
        solve = _logistic_program(len(prepared[0][0].classes_), bool(first.fit_intercept), True)
        with jax.enable_x64(True):
            out = jax.device_get(solve(X, y, s, l2, float(first.tol), int(first.max_iter)))
    else:
        l2 = np.array([[members[c][0]._alpha() / t for t in totals] for c in cands])
        solve = _linear_program(bool(first.fit_intercept), True)
        with jax.enable_x64(True):
            out = jax.device_get(solve(X, y, s, l2))
    for r, c in enumerate(cands):
        for f, (template, data) in enumerate(prepared):
            m = members[c][f]
            # the fold's validated attributes: n_features_in_, feature names, classes_
            for name, value in vars(template).items():
                if name.endswith("_"):
                    setattr(m, name, value)
            pair = [part[r, f] for part in out]
            if isinstance(m, LogisticRegression):
                m._set_fitted(*pair, X=data[0], labels=data[1], s=data[2])
            else:
                m._set_fitted(*pair)
