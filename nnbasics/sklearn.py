"""scikit-learn estimators over ``nb.MLP`` and ``nb.fit``.

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's constructor names
where the meaning is the same, train with ``nb.fit`` (hand-written backprop by
default) and keep their fitted state as NumPy arrays, so they pickle, clone and
sit inside ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.

The penalty matches scikit-learn's: its loss adds ``alpha/(2·B)·Σ‖W‖²`` per
minibatch of size ``B``; ``nb.fit`` adds ``(l2/2)·Σ‖W‖²`` to the batch mean,
so ``l2 = alpha / B``. See docs/sklearn.md for the differences that remain.
"""

from __future__ import annotations

import contextlib
import numbers
import threading
import time
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn import model_selection
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.base import clone as _sk_clone
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._validation import _score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import compilation, optim
from . import folds as nb_folds
from ._train_epoch import _program
from .mlp import MLP
from .train import fit as nb_fit

__all__ = ["GridSearchCV", "MLPClassifier", "MLPRegressor", "RandomizedSearchCV"]

_DTYPES = {"float32": jnp.float32, "float64": jnp.float64}

if TYPE_CHECKING:  # the search mixin below runs inside scikit-learn's BaseSearchCV
    from sklearn.model_selection._search import BaseSearchCV as _SearchBase
else:
    _SearchBase = object


def clone(estimator: Any, *, safe: bool = True) -> Any:
    """scikit-learn's ``clone``; its return type (untyped, inferred from its body) is Any."""
    return _sk_clone(estimator, safe=safe)


class _BaseMLP(BaseEstimator):
    _output = "softmax"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size: int | str = "auto",
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=False,
        grad="manual",
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.grad = grad
        self.dtype = dtype

    # -------------------------------------------------------------- checks
    def _check_params(self, n):
        if self.solver not in optim.REGISTRY:
            raise ValueError(
                f"solver: expected one of {sorted(optim.REGISTRY)}, got {self.solver!r}"
            )
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype: expected 'float32' or 'float64', got {self.dtype!r}")
        if not (isinstance(self.alpha, numbers.Real) and self.alpha >= 0):
            raise ValueError(f"alpha: expected a number >= 0, got {self.alpha!r}")
        if not (isinstance(self.learning_rate_init, numbers.Real) and self.learning_rate_init > 0):
            raise ValueError(
                f"learning_rate_init: expected a number > 0, got {self.learning_rate_init!r}"
            )
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter: expected an int >= 1, got {self.max_iter!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction: expected a number in (0, 1), got {self.validation_fraction!r}"
            )
        sizes = (
            (self.hidden_layer_sizes,)
            if np.ndim(self.hidden_layer_sizes) == 0
            else tuple(self.hidden_layer_sizes)
        )
        if any(int(s) < 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes: expected positive ints, got {self.hidden_layer_sizes!r}"
            )
        if self.batch_size == "auto":
            batch = min(200, n)
        elif isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1:
            batch = min(int(self.batch_size), n)
        else:
            raise ValueError(f"batch_size: expected 'auto' or an int >= 1, got {self.batch_size!r}")
        return tuple(int(s) for s in sizes), batch

    # ----------------------------------------------------------------- fit
    def _plan(self, n, n_features, n_out):
        """(net, batch size, seed) of a fit on ``n`` examples; the seed draws from random_state."""
        sizes, batch = self._check_params(n)
        net = MLP(sizes=(n_features, *sizes, n_out), hidden=self.activation, output=self._output)
        seed = np.random.RandomState(self.random_state).randint(2**31 - 1)
        return net, batch, int(seed)

    def _fit(self, X, y_encoded, n_out):
        net, batch, seed = self._plan(X.shape[0], X.shape[1], n_out)
        dtype = _DTYPES[self.dtype]
        # As nnbasics.folds.train_folds derives its keys from a seed, so that
        # nnbasics.sklearn.GridSearchCV trains exactly as this fit does.
        k_init, k_train = jax.random.split(jax.random.key(seed))
        X = np.asarray(X, dtype)
        y_encoded = np.asarray(y_encoded, np.int32 if self._output == "softmax" else dtype)
        valid = None
        if self.early_stopping:
            n = X.shape[0]
            order = np.asarray(jax.random.permutation(jax.random.fold_in(k_train, 1), n))
            n_valid = max(1, int(round(self.validation_fraction * n)))
            v, t = order[:n_valid], order[n_valid:]
            valid = (X[v], y_encoded[v])
            X, y_encoded = X[t], y_encoded[t]
            batch = min(batch, X.shape[0])
        opt = optim.get(self.solver, learning_rate=float(self.learning_rate_init))

        def progress(epoch: int, m: dict[str, float]) -> None:
            print(f"Iteration {epoch + 1}, loss = {m['train_loss']:.8f}")

        result = nb_fit(
            net,
            net.init(k_init, dtype),
            opt,
            (X, y_encoded),
            epochs=int(self.max_iter),
            batch_size=batch,
            key=k_train,
            valid=valid,
            patience=int(self.n_iter_no_change) if self.early_stopping else None,
            min_delta=float(self.tol),
            l2=float(self.alpha) / batch,
            grad=self.grad,
            callback=progress if self.verbose else None,
        )
        return self._set_fitted(
            net, result.params, result.history["train_loss"], result.history.get("valid_accuracy")
        )

    def _set_fitted(self, net, params, train_loss, valid_accuracy=None):
        """Stores a training's outcome as scikit-learn's fitted attributes (NumPy arrays)."""
        train_loss = np.asarray(train_loss, np.float64)
        ran = np.isfinite(train_loss)
        self.loss_curve_ = [float(v) for v in train_loss[ran]]
        self.n_iter_ = len(self.loss_curve_)
        if valid_accuracy is not None:
            self.validation_scores_ = [float(v) for v in np.asarray(valid_accuracy)[ran]]
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else np.inf
        self.coefs_ = [np.asarray(layer["W"]) for layer in params]
        self.intercepts_ = [np.asarray(layer["b"]) for layer in params]
        self.n_layers_ = len(self.coefs_) + 1
        self.n_outputs_ = net.sizes[-1]
        self.out_activation_ = self._output
        self._net = net
        return self

    def _raw(self, X):
        """The output pre-activation, computed in float64 whatever ``dtype`` trained.

        float32 matmuls round differently for different batch shapes, so
        predictions would change in the last bits with the rows around them;
        float64 keeps a row's prediction independent of its batch to ~1e-16
        (scikit-learn's check_methods_sample_order_invariance asks 1e-7).
        """
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        params = [
            {"W": np.asarray(W, np.float64), "b": np.asarray(b, np.float64)}
            for W, b in zip(self.coefs_, self.intercepts_, strict=True)
        ]
        net = self._net
        # one compiled forward pass per net and shape, not an eager program per operation
        apply = _program(("sklearn apply", net), lambda: jax.jit(net.apply))
        with jax.enable_x64(True):
            return np.asarray(apply(params, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-class classifier: ``nb.MLP`` with a softmax output, trained by ``nb.fit``.

    ``X`` (n, d) → ``predict_proba`` (n, C) with C = ``len(classes_)``.

    Examples:
      >>> import numpy as np
      >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
      >>> y = np.array(["low", "low", "high", "high"])
      >>> clf = MLPClassifier((4,), learning_rate_init=0.1, max_iter=30, random_state=0)
      >>> clf.fit(X, y).classes_.tolist(), clf.predict_proba(X).shape
      (['high', 'low'], (4, 2))
      >>> clf.predict(X).tolist()
      ['low', 'low', 'high', 'high']
    """

    _output = "softmax"

    def _prepare(self, X, y):
        """Validates (X, y), sets n_features_in_ and classes_; returns (X, labels 0..C−1, C)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({self.classes_[0]!r})")
        return X, encoded, len(self.classes_)

    def fit(self, X, y):
        return self._fit(*self._prepare(X, y))

    def predict_proba(self, X):
        with jax.enable_x64(True):
            return np.asarray(jax.nn.softmax(self._raw(X), axis=-1))

    def predict_log_proba(self, X):
        with jax.enable_x64(True):
            return np.asarray(jax.nn.log_softmax(self._raw(X), axis=-1))

    def predict(self, X):
        check_is_fitted(self, "coefs_")
        return self.classes_[np.argmax(self._raw(X), axis=-1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Regressor: ``nb.MLP`` with a linear (Gaussian, ½ squared error) output.

    ``X`` (n, d) → ``predict`` (n,) for a 1-D target, (n, k) for a 2-D one.

    Examples:
      >>> import numpy as np
      >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
      >>> reg = MLPRegressor((4,), max_iter=5, random_state=0).fit(X, 3 * X[:, 0] + 1)
      >>> reg.predict(X).shape, reg.predict(np.c_[X, X].reshape(-1, 1)).shape
      ((20,), (40,))
    """

    _output = "linear"

    def _prepare(self, X, y):
        """Validates (X, y), sets n_features_in_; returns (X, y as (n, k), k)."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        y = np.asarray(y)  # an array already; scikit-learn's validate_data declares no return type
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        return X, y2, y2.shape[1]

    def fit(self, X, y):
        return self._fit(*self._prepare(X, y))

    def predict(self, X):
        z = self._raw(X)
        return z[:, 0] if self._y_1d else z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# ------------------------------------------------------------------ search CV


class _FoldSearch(_SearchBase):
    """``fit`` for an nnbasics estimator (or a Pipeline ending in one): every
    (candidate × fold) pair trained together by ``nnbasics.folds.train_folds``.

    Each pair trains exactly as scikit-learn's search would fit
    ``clone(estimator).set_params(**candidate)`` on the fold, so ``cv_results_``
    match scikit-learn's to float tolerance; the results are then formatted,
    ranked and refit by scikit-learn's own code. Other estimators, fit
    parameters, ``early_stopping``, ``verbose`` or candidates that change a
    Pipeline's other steps run scikit-learn's ordinary loop (``batched_`` False).
    """

    #: configurations trained at once per compiled call (bounds the memory); a class
    #: attribute, so the constructor stays scikit-learn's: set it on an instance.
    chunk_size = 64

    def _candidates(self) -> Any:
        """The candidate parameter dicts, in scikit-learn's order (each search defines it)."""
        raise NotImplementedError

    def fit(self, X, y=None, **params):
        """Runs fit with every candidate on every fold; refits the best on all of (X, y)."""
        candidates = list(self._candidates())
        est = self.estimator
        final, name = (
            (est.steps[-1][1], est.steps[-1][0]) if isinstance(est, Pipeline) else (est, "")
        )
        prefix = f"{name}__" if name else ""
        own = [
            {k[len(prefix) :]: v for k, v in c.items() if k.startswith(prefix)} for c in candidates
        ]
        self.batched_ = (
            not params
            and y is not None
            and isinstance(final, _BaseMLP)
            and bool(candidates)
            and all(len(o) == len(c) for o, c in zip(own, candidates, strict=True))
            and all(
                not m.early_stopping and not m.verbose
                for m in (clone(final).set_params(**o) for o in own)
            )
        )
        if not self.batched_:
            return super().fit(X, y, **params)
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        # scikit-learn declares no types: pyright infers check_cv's cv as int from its default
        cv: Any = check_cv(self.cv, y, classifier=is_classifier(est))  # pyright: ignore[reportArgumentType]
        splits = list(cv.split(X, y))
        self.n_splits_ = len(splits)
        warmup = self._start_refit_warmup(X, y, candidates, own, prefix) if self.refit else None
        out = self._train_and_score(X, y, candidates, own, splits, scorers)
        if warmup is not None:
            warmup.join()
        results = self._format_results(candidates, self.n_splits_, out)
        self.multimetric_ = isinstance(out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(out[0]["test_scores"])
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(est).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            self.best_estimator_.fit(X, y)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    def _start_refit_warmup(self, X, y, candidates, own, prefix):
        """A thread compiling the refit's programs while the search compiles and trains.

        When every candidate shares the refit's structure (only numeric parameters
        differ: they are inputs of the compiled programs), a one-epoch fit of the
        first candidate on all of (X, y) traces and compiles the programs the
        refit will call; XLA compiles with the GIL released, so this overlaps the
        search on a second core. Its model is thrown away: results are unchanged.
        """
        est = self.estimator
        final = est.steps[-1][1] if isinstance(est, Pipeline) else est
        structures = {
            (m.solver, m.grad, m.dtype, m.activation, m.batch_size, m.alpha == 0)
            + tuple(np.atleast_1d(m.hidden_layer_sizes).tolist())
            for m in (clone(final).set_params(**o) for o in own)
        }
        if len(structures) != 1:
            return None
        compilation.use_default_cache()  # once, here, rather than racing in both threads
        probe = clone(est).set_params(**clone(candidates[0], safe=False))
        probe.set_params(**{f"{prefix}max_iter": 1, f"{prefix}random_state": 0})

        def compile_refit():
            with contextlib.suppress(Exception):  # the refit runs next and reports any error
                probe.fit(X, y)

        thread = threading.Thread(target=compile_refit, name="nnbasics-refit-warmup", daemon=True)
        thread.start()
        return thread

    def _train_and_score(self, X, y, candidates, own, splits, scorers):
        """The list of per-(candidate, split) dicts scikit-learn's ``_fit_and_score`` returns."""
        est = self.estimator
        final = est.steps[-1][1] if isinstance(est, Pipeline) else est
        folds = []  # per split: (model maker, (X_f, y_f) prepared, n_out, fitted template)
        for train, _ in splits:
            X_tr, y_tr = _safe_indexing(X, train), _safe_indexing(y, train)
            head = None
            if isinstance(est, Pipeline):
                head = clone(est[:-1])
                X_tr = head.fit_transform(X_tr, y_tr)
            template = clone(final)
            Xf, tf, n_out = template._prepare(X_tr, y_tr)
            folds.append((head, template, Xf, tf, n_out))

        n_cand, n_splits = len(candidates), len(splits)
        members = [[clone(final).set_params(**o) for _ in splits] for o in own]
        fitted = [[None] * n_splits for _ in range(n_cand)]
        fit_time = np.zeros((n_cand, n_splits))
        # Pairs that share the training program's structure train in one train_folds call.
        groups: dict = {}
        for c in range(n_cand):
            for f, (_, _, Xf, _, n_out) in enumerate(folds):
                m = members[c][f]
                net, batch, seed = m._plan(Xf.shape[0], Xf.shape[1], n_out)
                key = (m.solver, int(m.max_iter), m.grad, m.dtype, Xf.shape, n_out)
                config = dict(
                    learning_rate=float(m.learning_rate_init),
                    l2=float(m.alpha) / batch,
                    sizes=net.sizes,
                    hidden=net.hidden,
                    batch_size=batch,
                )
                groups.setdefault(key, {}).setdefault(c, {})[f] = (config, seed)
        for (solver, epochs, grad, dtype, _, _), pairs in groups.items():
            # Folds of one shape give a candidate the same config (batch "auto" depends
            # on n only) and every candidate covers all of them: a (configs × folds) grid.
            cands = list(pairs)
            fold_ids = sorted(pairs[cands[0]])
            self._train_group(
                solver,
                epochs,
                grad,
                dtype,
                [pairs[c][fold_ids[0]][0] for c in cands],
                [[pairs[c][f][1] for f in fold_ids] for c in cands],
                [folds[f] for f in fold_ids],
                cands,
                fold_ids,
                members,
                fitted,
                fit_time,
            )

        out = []
        for c in range(n_cand):
            for f, (train, test) in enumerate(splits):
                head = folds[f][0]
                model = fitted[c][f]
                if head is not None:
                    model = Pipeline([*head.steps, (est.steps[-1][0], model)])
                X_te, y_te = _safe_indexing(X, test), _safe_indexing(y, test)
                start = time.time()
                # scikit-learn declares no types: error_score is inferred str from "raise"
                result = {
                    "fit_error": None,
                    "test_scores": _score(model, X_te, y_te, scorers, {}, self.error_score),  # pyright: ignore[reportArgumentType]
                    "n_test_samples": len(test),
                    "fit_time": fit_time[c, f],
                }
                if self.return_train_score:
                    X_tr, y_tr = _safe_indexing(X, train), _safe_indexing(y, train)
                    # scikit-learn declares no types: error_score is inferred str from "raise"
                    result["train_scores"] = _score(
                        model,
                        X_tr,
                        y_tr,
                        scorers,
                        {},
                        self.error_score,  # pyright: ignore[reportArgumentType]
                    )
                result["score_time"] = time.time() - start
                out.append(result)
        return out

    def _train_group(
        self,
        solver,
        epochs,
        grad,
        dtype,
        configs,
        seeds,
        folds,
        cands,
        fold_ids,
        members,
        fitted,
        fit_time,
    ):
        """Trains configs × folds in one ``train_folds`` call; stores fitted members."""
        start = time.time()
        net = MLP(sizes=configs[0]["sizes"], output=members[cands[0]][fold_ids[0]]._output)
        trained = nb_folds.train_folds(
            net,
            [(Xf, tf) for _, _, Xf, tf, _ in folds],
            configs=configs,
            optimizer=solver,
            epochs=epochs,
            grad=grad,
            dtype=_DTYPES[dtype],
            chunk_size=self.chunk_size,
            seeds=np.asarray(seeds, np.int64),
        )
        share = (time.time() - start) / (len(configs) * len(folds))
        for r, c in enumerate(cands):
            for a, f in enumerate(fold_ids):
                m = members[c][f]
                # the fold's validated attributes: n_features_in_, feature names, classes_
                for k, v in vars(folds[a][1]).items():
                    if k.endswith("_") or k == "_y_1d":
                        setattr(m, k, v)
                fitted[c][f] = m._set_fitted(
                    trained.nets[r], trained.params[r][a], trained.train_loss[r, a]
                )
                fit_time[c, f] = share


class GridSearchCV(_FoldSearch, model_selection.GridSearchCV):
    """scikit-learn's ``GridSearchCV``, training every (candidate × fold) pair at once.

    Same parameters, attributes and results as scikit-learn's (``cv_results_``,
    ``best_params_``, ``best_score_``, ``best_estimator_``, ``predict``,
    ``score``, ...). For an nnbasics ``MLPClassifier``/``MLPRegressor``, or a
    ``Pipeline`` ending in one with the grid over its parameters, the fits go
    through ``nnbasics.folds.train_folds``: one compiled program per structure
    (solver, layer sizes, activation, batch size, epochs) trains every
    candidate on every fold, ``chunk_size`` (64) candidates at a time; the
    numeric parameters (``learning_rate_init``, ``alpha``) are inputs of that
    program. ``batched_`` says whether it did.
    """

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class RandomizedSearchCV(_FoldSearch, model_selection.RandomizedSearchCV):
    """scikit-learn's ``RandomizedSearchCV``, training every (candidate × fold) pair at once.

    The candidates are scikit-learn's own ``ParameterSampler`` draws (the same
    for the same ``random_state``); the rest is as :class:`GridSearchCV`.
    """

    def _candidates(self):
        return ParameterSampler(
            self.param_distributions, self.n_iter, random_state=self.random_state
        )
