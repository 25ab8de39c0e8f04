"""Train/valid/test splits, standardization and the checks of ``(X, y)`` arrays.

See :mod:`nnbasics.data` for an example.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics import _checks

__all__ = [
    "Standardizer",
    "check_dataset",
    "inverse_transform",
    "split",
    "standardize",
    "transform",
]


def _describe(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return repr(x)


def _sizes(m: int, valid: float, test: float) -> tuple[int, int, int]:
    """(train, valid, test) sizes of ``m`` examples, each rounded half up."""
    n_valid = math.floor(m * valid + 0.5)
    # Rounding the valid+test boundary (not test alone) keeps train within
    # half an example of its share too.
    n_held = max(math.floor(m * (valid + test) + 0.5), n_valid)
    return m - n_held, n_valid, n_held - n_valid


def split(
    key: jax.Array, X: Any, y: Any, valid: float = 0.15, test: float = 0.15, stratify: bool = False
):
    """Shuffles ``(X, y)`` with ``key`` and cuts it into train, valid and test.

    Without ``stratify``, ``n_valid = round(n·valid)``, ``n_test =
    round(n·(valid + test)) − n_valid`` and train takes the rest. With
    ``stratify``, the same rounding is applied to each class separately, so
    every split holds each class in its proportion to within one example; the
    split totals may then differ from the unstratified ones by up to half the
    number of classes. Rows keep their shuffled order within each split.

    Args:
        key: JAX PRNG key; the same key gives the same split.
        X: features ``(n, ...)``, NumPy or JAX array (the type is kept).
        y: targets ``(n, ...)``; int class labels ``(n,)`` for ``stratify``.
        valid: fraction in [0, 1) for validation; 0 gives 0-row arrays.
        test: fraction in [0, 1) for test; ``valid + test < 1``.
        stratify: keep class proportions in every split.

    Returns:
        ``((X_train, y_train), (X_valid, y_valid), (X_test, y_test))``; every
        row of ``X`` lands in exactly one of them.

    Raises:
        ValueError: bad ``key``, ``valid`` or ``test``; ``X`` and ``y`` of
            different lengths; ``y`` not int labels with ``stratify``; or too
            few examples for a non-empty train split and non-empty valid/test
            splits wherever their fraction is positive.

    Examples:
      >>> import jax, numpy as np
      >>> X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
      >>> train, valid, test = split(jax.random.key(0), X, y, valid=0.2, test=0.1)
      >>> len(train[0]), len(valid[0]), len(test[0])
      (14, 4, 2)
    """
    _checks.prng_key("key", key)
    _checks.real_in("valid", valid, 0.0, 1.0, hi_open=True)
    _checks.real_in("test", test, 0.0, 1.0, hi_open=True)
    if valid + test >= 1:
        _checks.fail(
            "valid + test", "a sum below 1, leaving examples to train on", float(valid + test)
        )
    if not isinstance(stratify, bool):
        _checks.fail("stratify", "True or False", stratify)
    for name, a in (("X", X), ("y", y)):
        if not hasattr(a, "shape") or len(a.shape) < 1:
            _checks.fail(name, "an array of shape (n, ...)", _describe(a))
    n = X.shape[0]
    if y.shape[0] != n:
        _checks.fail("y", f"{n} rows, as many as X", f"{y.shape[0]} rows")

    perm = np.asarray(_permutation(key, n))
    part = np.zeros(n, np.int8)  # 0 train, 1 valid, 2 test, indexed by row
    if stratify:
        labels = np.asarray(y)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            _checks.fail("y", "integer class labels of shape (n,) when stratify=True", _describe(y))
        shuffled = labels[perm]
        for c in np.unique(labels):
            rows = perm[shuffled == c]
            n_tr, n_va, _ = _sizes(len(rows), valid, test)
            part[rows[n_tr : n_tr + n_va]] = 1
            part[rows[n_tr + n_va :]] = 2
    else:
        n_tr, n_va, _ = _sizes(n, valid, test)
        part[perm[n_tr : n_tr + n_va]] = 1
        part[perm[n_tr + n_va :]] = 2

    sizes = tuple(int(np.sum(part == k)) for k in range(3))
    if sizes[0] < 1 or (valid > 0 and sizes[1] < 1) or (test > 0 and sizes[2] < 1):
        _checks.fail(
            "X",
            "enough rows for a non-empty train split and non-empty valid/test "
            "splits where their fraction is positive",
            f"{n} rows, giving (train, valid, test) sizes {sizes} at valid={valid}, test={test}",
        )
    ordered = [perm[part[perm] == k] for k in range(3)]
    return tuple((X[idx], y[idx]) for idx in ordered)


# --------------------------------------------------------------------------
# Standardization


class Standardizer(NamedTuple):
    """Per-feature statistics for ``(X − mean) / scale``.

    Attributes:
        mean: ``(d,)`` feature means of the data it was fitted on.
        scale: ``(d,)`` population standard deviations (ddof 0), with 1 for
            (near-)constant features, as scikit-learn's StandardScaler.

    Examples:
      >>> import numpy as np
      >>> stats = Standardizer.fit(np.array([[1.0, 10.0], [3.0, 10.0]]))
      >>> stats.mean.tolist(), stats.scale.tolist()  # a constant column keeps scale 1
      ([2.0, 10.0], [1.0, 1.0])
    """

    mean: jax.Array
    scale: jax.Array

    @staticmethod
    def fit(X: Any) -> Standardizer:
        """Fits the statistics on ``X`` ``(n, d)``: the training split only."""
        _check_matrix("X", X)
        if X.shape[0] < 1:
            _checks.fail("X", "at least one row", _describe(X))
        _checks.finite_array("X", X)
        X = X if isinstance(X, jax.Array) else jax.device_put(np.asarray(X))
        if not jnp.issubdtype(X.dtype, jnp.floating):
            X = X.astype(jnp.result_type(float))
        return Standardizer(*_moments(X))


@jax.jit
def _moments(X):
    """(mean, scale) of the columns of X, in one compiled program."""
    mean = jnp.mean(X, axis=0)
    std = jnp.std(X, axis=0)
    # A constant column's computed std is rounding error proportional to
    # its magnitude; dividing by it would blow that error up.
    tiny = 10 * jnp.finfo(X.dtype).eps * jnp.maximum(jnp.abs(mean), 1.0)
    return mean, jnp.where(std <= tiny, 1.0, std).astype(X.dtype)


# One compiled program per (key type, n), rather than one per eager operation.
_permutation = jax.jit(jax.random.permutation, static_argnums=1)


def _check_matrix(name: str, X: Any, d: int | None = None) -> None:
    if not hasattr(X, "shape") or len(X.shape) != 2:
        _checks.fail(name, "an array of shape (n, d)", _describe(X))
    if d is not None and X.shape[1] != d:
        _checks.fail(name, f"{d} features (columns), as fitted", f"{X.shape[1]} features")


def transform(stats: Standardizer, X: Any) -> jax.Array:
    """``(X − mean) / scale`` for ``X`` ``(n, d)``; jit-compatible.

    Returns:
        ``(n, d)`` JAX array.

    Examples:
      >>> import numpy as np
      >>> X = np.array([[0.0, 1.0], [2.0, 3.0]])
      >>> transform(Standardizer.fit(X), X).tolist()
      [[-1.0, -1.0], [1.0, 1.0]]
    """
    _check_matrix("X", X, stats.mean.shape[0])
    if not (_checks.is_concrete(X) and _checks.is_concrete(stats.mean)):
        return (X - stats.mean) / stats.scale
    # Concrete data: NumPy's subtract and divide, in the same dtype as the traced
    # path (and within one unit in the last place of XLA's, whose CPU division can
    # round differently), compile nothing (each split's shape would be a new program).
    dtype = jax.dtypes.canonicalize_dtype(jnp.result_type(X, stats.mean))
    mean, scale = np.asarray(stats.mean, dtype), np.asarray(stats.scale, dtype)
    return jax.device_put((np.asarray(X, dtype) - mean) / scale)  # jnp.asarray compiles a copy


def inverse_transform(stats: Standardizer, Z: Any) -> jax.Array:
    """``Z · scale + mean``, undoing :func:`transform` for ``Z`` ``(n, d)``.

    Also maps standardized regression predictions back to target units when
    the statistics were fitted on the targets.

    Examples:
      >>> import numpy as np
      >>> X = np.array([[0.0, 1.0], [2.0, 3.0]])
      >>> stats = Standardizer.fit(X)
      >>> inverse_transform(stats, transform(stats, X)).tolist()
      [[0.0, 1.0], [2.0, 3.0]]
    """
    _check_matrix("Z", Z, stats.mean.shape[0])
    return Z * stats.scale + stats.mean


def standardize(train, valid, test):
    """Standardizes the features of three ``(X, y)`` splits with train's statistics.

    Args:
        train, valid, test: ``(X, y)`` pairs as :func:`split` returns them.

    Returns:
        ``(stats, train, valid, test)`` with each ``X`` replaced by
        ``transform(stats, X)`` and each ``y`` unchanged.

    Examples:
      >>> import numpy as np
      >>> train = (np.array([[0.0], [2.0]]), np.array([0, 1]))
      >>> valid, test = (np.array([[4.0]]), np.array([1])), (np.array([[1.0]]), np.array([0]))
      >>> stats, train, valid, test = standardize(train, valid, test)
      >>> valid[0].tolist(), test[0].tolist()  # with train's mean 1 and scale 1
      ([[3.0]], [[0.0]])
    """
    stats = Standardizer.fit(train[0])
    return (stats,) + tuple((transform(stats, X), y) for X, y in (train, valid, test))


# --------------------------------------------------------------------------
# Checks for the training engine and the command line

_KINDS = ("classes", "binary", "real")


def check_dataset(
    X: Any,
    y: Any,
    *,
    kind: str = "classes",
    n_classes: int | None = None,
    n_features: int | None = None,
    n_outputs: int | None = None,
    name_X: str = "X",
    name_y: str = "y",
) -> None:
    """Rejects a data set that a model cannot train on, before any work starts.

    Shape and dtype checks run on any array, tracers included; checks of the
    values (finite, label range) run only on concrete arrays.

    Args:
        X: features, shape ``(n, d)`` with finite real values.
        y: targets with ``n`` rows:

            * ``kind="classes"``: integer labels ``(n,)`` in ``[0, n_classes)``
              (softmax output);
            * ``kind="binary"``: values in {0, 1}, ``(n,)`` or ``(n, d_out)``
              (sigmoid output);
            * ``kind="real"``: finite reals, ``(n,)`` or ``(n, d_out)``
              (linear, gaussian or mixture output).
        kind: one of ``"classes"``, ``"binary"``, ``"real"``.
        n_classes: if given (``"classes"``), labels must lie below it.
        n_features: if given, ``d`` must equal it.
        n_outputs: if given (``"binary"``/``"real"``), ``y`` must be
            ``(n, n_outputs)``.
        name_X, name_y: names used in the error messages (e.g. ``"valid[0]"``).

    Raises:
        ValueError: ``"<name>: expected <what>, received <what>"``.

    Examples:
      >>> import numpy as np
      >>> check_dataset(np.zeros((3, 2)), np.array([0, 1, 1]), n_classes=2)  # fine: returns None
      >>> check_dataset(np.zeros((3, 2)), np.array([0, 1, 2]), n_classes=2)
      Traceback (most recent call last):
      ...
      ValueError: ...
    """
    _checks.one_of("kind", kind, _KINDS)
    for arg, value in (
        ("n_classes", n_classes),
        ("n_features", n_features),
        ("n_outputs", n_outputs),
    ):
        if value is not None:
            _checks.positive_int(arg, value)
    if not hasattr(X, "shape") or len(X.shape) != 2:
        _checks.fail(name_X, "an array of shape (n, d)", _describe(X))
    if not _is_numeric(X.dtype):
        _checks.fail(name_X, "real-valued features", _describe(X))
    if n_features is not None and X.shape[1] != n_features:
        _checks.fail(name_X, f"{n_features} features (columns)", f"{X.shape[1]} features")
    _checks.finite_array(name_X, X)

    n = X.shape[0]
    if n == 0:
        _checks.fail(name_X, "at least one example", "an empty data set (0 rows)")
    if not hasattr(y, "shape") or len(y.shape) < 1 or y.shape[0] != n:
        _checks.fail(name_y, f"{n} rows, as many as {name_X}", _describe(y))
    if kind == "classes":
        if len(y.shape) != 1 or not _is_integer(y.dtype):
            _checks.fail(name_y, f"integer class labels of shape ({n},)", _describe(y))
        if _checks.is_concrete(y) and n:
            labels = np.asarray(y)
            lo, hi = int(labels.min()), int(labels.max())
            top = "" if n_classes is None else f" and below {n_classes}"
            if lo < 0 or (n_classes is not None and hi >= n_classes):
                _checks.fail(name_y, f"labels at least 0{top}", f"labels from {lo} to {hi}")
        return
    if len(y.shape) > 2 or (n_outputs is not None and tuple(y.shape) != (n, n_outputs)):
        shape = f"({n}, {n_outputs})" if n_outputs is not None else f"({n},) or ({n}, d_out)"
        _checks.fail(name_y, f"targets of shape {shape}", _describe(y))
    if not _is_numeric(y.dtype):
        _checks.fail(name_y, "numeric targets", _describe(y))
    if kind == "binary":
        if _checks.is_concrete(y):
            values = np.asarray(y)
            bad = int(np.count_nonzero((values != 0) & (values != 1)))
            if bad:
                _checks.fail(name_y, "targets in {0, 1}", f"{bad} other values")
    else:
        _checks.finite_array(name_y, y)


def _is_integer(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jnp.integer)


def _is_numeric(dtype: Any) -> bool:
    # jnp.issubdtype also knows bfloat16, which NumPy does not class as floating.
    return jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
