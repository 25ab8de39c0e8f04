"""Linear regression with half mean squared error and an L2 (ridge) penalty.

Parameters are ``{"w": (d,), "b": ()}`` for a single target y of shape (m,),
or ``{"w": (d, k), "b": (k,)}`` for k targets Y of shape (m, k); the shapes of
``w``, ``b`` and ``y`` must agree. The objective is

    J(w, b) = (1/(2m)) Σᵢ ‖xᵢ w + b − yᵢ‖² + (l2/2) ‖w‖²_F

i.e. the mean over examples of the unit-variance Gaussian NLL (up to its
constant), the same loss as ``MLP(..., output="linear")``; the bias is not
penalized.

Mapping to scikit-learn: ``Ridge(alpha)`` minimizes ‖y − X w − b‖² + α‖w‖²,
which is 2m·J, so ``alpha = m · l2`` (equivalently ``l2 = alpha / m``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from nnbasics._checks import fail, non_negative

__all__ = ["mse", "grad", "solve", "predict"]


def _check_X(X) -> jax.Array:
    X = jnp.asarray(X)
    if X.ndim != 2:
        fail("X", "a 2-D array of shape (n, d)", f"shape {X.shape}")
    return X


def _check_y(y, n: int) -> jax.Array:
    y = jnp.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] != n:
        fail("y", f"shape ({n},) or ({n}, k) to match X's {n} rows", f"shape {y.shape}")
    return y


def _check_params(params, d: int) -> tuple[jax.Array, jax.Array]:
    if not isinstance(params, dict) or set(params) != {"w", "b"}:
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        fail("params", 'a dict with keys "w" and "b"', keys)
    w, b = jnp.asarray(params["w"]), jnp.asarray(params["b"])
    if w.ndim not in (1, 2) or w.shape[0] != d:
        fail(
            "params['w']", f"shape ({d},) or ({d}, k) to match X's {d} features", f"shape {w.shape}"
        )
    if b.shape != w.shape[1:]:
        fail(
            "params['b']", f"shape {w.shape[1:]} to match params['w'] {w.shape}", f"shape {b.shape}"
        )
    return w, b


def _inputs(params, X, y, l2):
    X = _check_X(X)
    w, b = _check_params(params, X.shape[1])
    y = _check_y(y, X.shape[0])
    if y.shape[1:] != w.shape[1:]:
        fail(
            "y",
            f"shape {(X.shape[0],) + w.shape[1:]} to match params['w'] {w.shape}",
            f"shape {y.shape}",
        )
    non_negative("l2", l2)
    return w, b, X, y


def mse(params, X, y, l2=0.0):
    """Half mean squared error plus the L2 penalty on ``w``.

    J = (1/(2m)) Σᵢ ‖xᵢ w + b − yᵢ‖² + (l2/2) ‖w‖²_F  (sum over the k targets).

    Args:
        params: ``{"w": (d,), "b": ()}`` or ``{"w": (d, k), "b": (k,)}``.
        X: features, shape (m, d).
        y: targets, shape (m,) or (m, k) matching ``w``.
        l2: L2 strength (≥ 0); ``sklearn`` Ridge's alpha is m·l2.

    Returns:
        The scalar J, shape ().

    Examples:
      >>> import jax.numpy as jnp
      >>> X, y = jnp.array([[1.0], [2.0]]), jnp.array([1.0, 3.0])
      >>> float(mse({"w": jnp.array([1.0]), "b": jnp.array(0.0)}, X, y))  # (0² + 1²) / (2·2)
      0.25
    """
    w, b, X, y = _inputs(params, X, y, l2)
    residual = X @ w + b - y
    return 0.5 * jnp.sum(residual * residual) / X.shape[0] + 0.5 * l2 * jnp.sum(w * w)


def grad(params, X, y, l2=0.0):
    """Hand-written gradient of :func:`mse`.

    With r = X w + b − y (shape (m,) or (m, k)):
    ∂J/∂w = (1/m) Xᵀ r + l2·w,   ∂J/∂b = (1/m) Σᵢ rᵢ.

    Args:
        params: ``{"w": (d,), "b": ()}`` or ``{"w": (d, k), "b": (k,)}``.
        X: features, shape (m, d).
        y: targets, shape (m,) or (m, k) matching ``w``.
        l2: L2 strength (≥ 0).

    Returns:
        The same pytree as ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> X, y = jnp.array([[1.0], [2.0]]), jnp.array([1.0, 3.0])
      >>> g = grad({"w": jnp.array([1.0]), "b": jnp.array(0.0)}, X, y)
      >>> g["w"].tolist(), float(g["b"])  # r = (0, −1): Xᵀr/m, mean(r)
      ([-1.0], -0.5)
    """
    w, b, X, y = _inputs(params, X, y, l2)
    residual = X @ w + b - y
    return {"w": X.T @ residual / X.shape[0] + l2 * w, "b": jnp.mean(residual, axis=0)}


def solve(X, y, l2=0.0, weights=None, fit_intercept=True):
    """The minimizer of :func:`mse` in closed form (ridge, unpenalized intercept).

    With x̄, ȳ the column means, X_c = X − x̄ and y_c = y − ȳ:
    w = argmin ‖X_c w − y_c‖² + m·l2‖w‖², the solution of
    (X_cᵀX_c + m·l2·I) w = X_cᵀ y_c, and b = ȳ − x̄ w.

    It is computed as the least-squares solution of the stacked system
    [X_c; √(m·l2)·I] w ≈ [y_c; 0], which has the same normal equations without
    squaring the condition number of X_c; for l2 = 0 and rank-deficient X it
    gives the minimum-norm w. Jittable, with ``l2`` static or traced.

    With per-example ``weights`` s the objective's mean is Σᵢ sᵢ(·)ᵢ / Σs: the
    means x̄, ȳ are weighted, each row of X_c and y_c is scaled by √sᵢ and m
    becomes Σs (scikit-learn's ``Ridge(alpha).fit(X, y, sample_weight=s)`` is
    l2 = alpha / Σs). With ``fit_intercept=False``, b = 0 and nothing is centered.

    Args:
        X: features, shape (m, d).
        y: targets, shape (m,) or (m, k).
        l2: L2 strength (≥ 0); equals sklearn ``Ridge(alpha=m·l2)``.
        weights: None, or per-example weights (m,), ≥ 0.
        fit_intercept: fit b (True) or keep it at 0.

    Returns:
        ``{"w": (d,), "b": ()}`` for y of shape (m,), else ``{"w": (d, k), "b": (k,)}``.

    Examples:
      >>> import jax.numpy as jnp
      >>> X = jnp.array([[0.0], [1.0], [2.0]])
      >>> params = solve(X, 2.0 * X[:, 0] + 1.0)  # y = 2x + 1 exactly
      >>> params["w"].tolist(), float(params["b"])
      ([2.0], 1.0)
    """
    X = _check_X(X)
    y = _check_y(y, X.shape[0])
    non_negative("l2", l2)
    m, d = X.shape
    dtype = jnp.result_type(X, y, jnp.float32)
    X, y = X.astype(dtype), y.astype(dtype)
    if weights is None:
        s, total = jnp.ones(m, dtype), m
    else:
        s = jnp.asarray(weights).astype(dtype)
        if s.shape != (m,):
            fail("weights", f"per-example weights of shape ({m},)", f"shape {s.shape}")
        total = jnp.sum(s)
    if fit_intercept:
        x_mean, y_mean = s @ X / total, jnp.tensordot(s, y, axes=1) / total
    else:
        x_mean, y_mean = jnp.zeros(d, dtype), jnp.zeros(y.shape[1:], dtype)
    root = jnp.sqrt(s)
    A = jnp.concatenate(
        [root[:, None] * (X - x_mean), jnp.sqrt(total * l2) * jnp.eye(d, dtype=dtype)]
    )
    rhs = jnp.concatenate(
        [
            root.reshape((m,) + (1,) * (y.ndim - 1)) * (y - y_mean),
            jnp.zeros((d,) + y.shape[1:], dtype),
        ]
    )
    w = jnp.linalg.lstsq(A, rhs)[0]
    return {"w": w, "b": y_mean - x_mean @ w}


def predict(params, X):
    """ŷ = X w + b, shape (m,) or (m, k) following ``w``, for X of shape (m, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> predict({"w": jnp.array([2.0]), "b": jnp.array(1.0)}, jnp.array([[0.0], [3.0]])).tolist()
      [1.0, 7.0]
    """
    X = _check_X(X)
    w, b = _check_params(params, X.shape[1])
    return X @ w + b
