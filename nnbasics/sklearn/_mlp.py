"""``MLPClassifier`` and ``MLPRegressor``: part of ``nnbasics.sklearn`` (re-exported there).

The training stack (``nnbasics.train``, ``nnbasics.optim``, optax) is imported
when an estimator first fits, so importing the estimators costs little more
than importing jax and scikit-learn's own estimators.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
import scipy.special
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.base import clone as _sk_clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from nnbasics import compilation

__all__ = ["MLPClassifier", "MLPRegressor"]

_DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
_SPARSE = ("csr", "csc")


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
        warm_start=False,
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
        self.warm_start = warm_start
        self.grad = grad
        self.dtype = dtype

    # -------------------------------------------------------------- checks
    def _check_params(self, n):
        from nnbasics import optim

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
        from nnbasics.mlp import MLP

        sizes, batch = self._check_params(n)
        net = MLP(sizes=(n_features, *sizes, n_out), hidden=self.activation, output=self._output)
        seed = np.random.RandomState(self.random_state).randint(2**31 - 1)
        return net, batch, int(seed)

    def _fit(self, X, y_encoded, n_out, sample_weight=None):
        # before the first program (the keys below): every program of the fit is cached
        compilation.use_default_cache()
        # the training stack is imported by the first fit, not by ``import nnbasics.sklearn``
        from nnbasics import optim
        from nnbasics.sklearn import _sparse
        from nnbasics.train import _buckets, start_state
        from nnbasics.train import fit as nb_fit
        from nnbasics.train._fit import fit_from_state

        sparse = scipy.sparse.issparse(X)
        if sparse:
            _sparse.refuse(self.early_stopping)
        net, batch, seed = self._plan(X.shape[0], X.shape[1], n_out)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        dtype = _DTYPES[self.dtype]
        opt = optim.get(self.solver, learning_rate=float(self.learning_rate_init))
        # As nnbasics.folds.train_folds derives its keys from a seed, so that
        # nnbasics.sklearn.GridSearchCV trains exactly as this fit does.
        warm = self._warm_params(net, dtype)
        state = start = None
        if warm is None and not sparse:  # keys, parameters and state: one program
            state = start_state(net, opt, seed, dtype, columns=_columns(net))
            k_train = jax.random.wrap_key_data(state.key)
        else:
            k_init, k_train = jax.random.split(jax.random.key(seed))
            start = net.init(k_init, dtype) if warm is None else warm
        X = _sparse.as_rows(X, dtype) if sparse else np.asarray(X, dtype)
        y_encoded = np.asarray(y_encoded, np.int32 if self._output == "softmax" else dtype)
        valid = None
        if self.early_stopping:
            n = X.shape[0]
            order = np.asarray(jax.random.permutation(jax.random.fold_in(k_train, 1), n))
            n_valid = max(1, int(round(self.validation_fraction * n)))
            v, t = order[:n_valid], order[n_valid:]
            valid = (X[v], y_encoded[v])
            X, y_encoded = X[t], y_encoded[t]
            sample_weight = None if sample_weight is None else sample_weight[t]
            batch = min(batch, X.shape[0])

        def progress(epoch: int, m: dict[str, float]) -> None:
            print(f"Iteration {epoch + 1}, loss = {m['train_loss']:.8f}")

        options: dict[str, Any] = dict(
            epochs=int(self.max_iter),
            batch_size=batch,
            valid=valid,
            patience=int(self.n_iter_no_change) if self.early_stopping else None,
            min_delta=float(self.tol),
            l2=float(self.alpha) / batch,
            grad=self.grad,
            callback=progress if self.verbose else None,
            sample_weight=sample_weight,
        )
        if state is not None:
            # in the state's column bucket: zero features, their weights zero and staying so
            cols = state.params[0]["W"].shape[0]
            if valid is not None:
                options["valid"] = (_pad_columns(valid[0], cols), valid[1])
            X = _pad_columns(X, cols)
            result = fit_from_state(
                _buckets.with_columns(net, cols), state, opt, (X, y_encoded), **options
            )
        else:
            fit = _sparse.fit if sparse else nb_fit
            result = fit(net, start, opt, (X, y_encoded), key=k_train, **options)
        earlier = self.loss_curve_ if warm is not None else []
        self._set_fitted(
            net, result.params, result.history["train_loss"], result.history.get("valid_accuracy")
        )
        self.loss_curve_ = earlier + self.loss_curve_
        # partial_fit goes on from here: the optimizer's state and key too
        self._state = None if self.early_stopping else jax.device_get(result.state)
        return self

    def _warm_params(self, net, dtype):
        """With ``warm_start``, the fitted parameters to start from (None: a fresh start)."""
        if not (self.warm_start and hasattr(self, "coefs_")):
            return None
        if [W.shape for W in self.coefs_] != [(a, b) for a, b in zip(net.sizes, net.sizes[1:])]:
            return None  # scikit-learn would fail; a new structure starts afresh
        return self._fitted_params(dtype)

    def _fitted_params(self, dtype):
        """``coefs_`` and ``intercepts_`` as nb.MLP parameters (None before any fit)."""
        if not hasattr(self, "coefs_"):
            return None
        return [
            {"W": jnp.asarray(W, dtype), "b": jnp.asarray(b, dtype)}
            for W, b in zip(self.coefs_, self.intercepts_, strict=True)
        ]

    def _partial_fit(self, X, y_encoded, n_out, sample_weight, first):
        """One epoch over (X, y_encoded) from the kept state (the first call: a fresh one)."""
        if self.early_stopping:
            raise ValueError("early_stopping: expected False with partial_fit, received True")
        from nnbasics import optim
        from nnbasics.sklearn import _sparse
        from nnbasics.train import _buckets, compile_epoch, init_state, start_state

        compilation.use_default_cache()
        sparse = scipy.sparse.issparse(X)
        net, batch, seed = self._plan(X.shape[0], X.shape[1], n_out)
        dtype = _DTYPES[self.dtype]
        opt = optim.get(self.solver, learning_rate=float(self.learning_rate_init))
        state = None if first else getattr(self, "_state", None)
        if state is None:
            fitted = None if first else self._fitted_params(dtype)
            if fitted is None:
                state = start_state(
                    net, opt, seed, dtype, columns=None if sparse else _columns(net)
                )
            else:
                state = init_state(fitted, opt, jax.random.split(jax.random.key(seed))[1])
            curve = [] if first else list(self.loss_curve_)
        else:
            net, curve = self._net, list(self.loss_curve_)
            state = jax.tree.map(jnp.asarray, state)
        if sample_weight is not None:
            sample_weight = jnp.asarray(
                _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True),
                dtype,
            )
        config: dict[str, Any] = dict(
            batch_size=batch, l2=float(self.alpha) / batch, grad=self.grad
        )
        y_cast = np.asarray(y_encoded, np.int32 if self._output == "softmax" else dtype)
        cols = state.params[0]["W"].shape[0]  # the state's column bucket (a fit's, or d)
        X, fed = _pad_columns(X, cols), _buckets.with_columns(net, cols)
        if sparse:
            state, m = _sparse.epoch_program(fed, opt, **config)(
                state, _sparse.as_rows(X, dtype), y_cast, sample_weight
            )
        else:
            state, m = compile_epoch(fed, opt, freeze=False, **config)(
                state, jnp.asarray(X, dtype), jnp.asarray(y_cast), None, None, sample_weight
            )
        loss = float(m["train_loss"])
        if not np.isfinite(loss):
            raise ValueError(
                "partial_fit: the epoch's loss is not finite (training diverged): lower "
                "learning_rate_init or scale the data"
            )
        self._set_fitted(net, state.params, curve + [loss])
        self.n_iter_ = 1  # scikit-learn's: the epochs of this call (loss_curve_ holds them all)
        self._state = jax.device_get(state)
        return self

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
        # the first layer's rows for the zero features of a column bucket cut off
        self.coefs_ = [np.asarray(layer["W"])[:a] for layer, a in zip(params, net.sizes)]
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
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=_SPARSE)
        params = [
            {"W": np.asarray(W, np.float64), "b": np.asarray(b, np.float64)}
            for W, b in zip(self.coefs_, self.intercepts_, strict=True)
        ]
        from nnbasics.sklearn import _sparse
        from nnbasics.train import _buckets
        from nnbasics.train._epoch import _program

        net = self._net
        if scipy.sparse.issparse(X):
            return _sparse.apply(net, params, X)
        X = np.asarray(X)
        n, d = X.shape
        # Padded to its row and column buckets, with zero rows in the first layer's weights
        # for the zero columns: new row counts and tables of nearby widths reuse one
        # compiled pass. It computes the pre-activation, the same for every output unit,
        # so it is keyed by the layers alone.
        cols = _columns(net) or d
        params[0]["W"] = _buckets.pad(params[0]["W"], cols)
        layers = dataclasses.replace(_buckets.with_columns(net, cols), output="linear")
        apply = _program(("sklearn apply", layers), lambda: jax.jit(layers.apply), stored=True)
        with jax.enable_x64(True):
            return np.asarray(apply(params, _buckets.pad(X, _buckets.size(n), cols)))[:n]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


def _columns(net) -> int | None:
    """The column bucket a dense fit of ``net`` trains in (None: its own features, maxout)."""
    from nnbasics.train import _buckets

    return None if net.hidden == "maxout" else _buckets.columns(net.sizes[0])


def _pad_columns(X, cols: int) -> Any:
    """``X`` (n, d), dense or sparse, with zero columns up to ``cols``."""
    n, d = X.shape
    if d == cols:
        return X
    if scipy.sparse.issparse(X):
        zeros = scipy.sparse.csr_matrix((n, cols - d), dtype=X.dtype)
        return scipy.sparse.hstack([X, zeros], format="csr")
    from nnbasics.train import _buckets

    return _buckets.pad(X, n, cols)


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
        X, y = validate_data(self, X, y, dtype=np.float64, accept_sparse=_SPARSE)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y: expected at least 2 classes, got 1 class ({self.classes_[0]!r})")
        return X, encoded, len(self.classes_)

    def fit(self, X, y, sample_weight=None):
        """Trains on (X, y); ``sample_weight`` (n,) as scikit-learn's MLPClassifier's."""
        return self._fit(*self._prepare(X, y), sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), going on from the last call's parameters and optimizer state.

        ``classes`` (every label ``y`` may hold) must be given on the first call, as
        scikit-learn's; later calls may leave it out.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "classes: expected every class label on the first call to partial_fit, received None"
            )
        if classes is not None:
            classes = np.unique(classes)
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes: expected {self.classes_.tolist()} as on the first call, "
                    f"received {classes.tolist()}"
                )
            self.classes_ = classes
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first, accept_sparse=_SPARSE)
        check_classification_targets(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y: expected labels in classes {self.classes_.tolist()}, received {unknown.tolist()}"
            )
        encoded = np.searchsorted(self.classes_, y)
        return self._partial_fit(X, encoded, len(self.classes_), sample_weight, first)

    # On the host (scipy): an eager jax.nn.softmax would compile five programs per row count.
    def predict_proba(self, X):
        return scipy.special.softmax(self._raw(X), axis=-1)

    def predict_log_proba(self, X):
        return scipy.special.log_softmax(self._raw(X), axis=-1)

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
        X, y = validate_data(
            self, X, y, dtype=np.float64, multi_output=True, y_numeric=True, accept_sparse=_SPARSE
        )
        y = np.asarray(y)  # an array already; scikit-learn's validate_data declares no return type
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        return X, y2, y2.shape[1]

    def fit(self, X, y, sample_weight=None):
        """Trains on (X, y); ``sample_weight`` (n,) as scikit-learn's MLPRegressor's."""
        return self._fit(*self._prepare(X, y), sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), going on from the last call's parameters and optimizer state."""
        first = not hasattr(self, "coefs_")
        X, y2, k = self._prepare(X, y) if first else self._prepare_more(X, y)
        return self._partial_fit(X, y2, k, sample_weight, first)

    def _prepare_more(self, X, y):
        """As ``_prepare``, for a later partial_fit call: the features and targets must match."""
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            multi_output=True,
            y_numeric=True,
            reset=False,
            accept_sparse=_SPARSE,
        )
        y2 = np.asarray(y).reshape(len(y), -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y: expected {self.n_outputs_} target column(s) as before, received {y2.shape[1]}"
            )
        return X, y2, y2.shape[1]

    def predict(self, X):
        z = self._raw(X)
        return z[:, 0] if self._y_1d else z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
