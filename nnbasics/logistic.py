"""Binary logistic regression: NLL, hand-written gradient and Hessian, Newton's method.

The model is p(y=1 | x) = σ(z) with z = x·w + b. Parameters are the pytree
``{"w": (d,), "b": ()}``. The objective is the mean conditional negative
log-likelihood with an L2 penalty on the weights only:

    J(w, b) = (1/m) Σᵢ [softplus(zᵢ) − yᵢ zᵢ] + (l2/2) ‖w‖²

where softplus(z) − y z = −[y log σ(z) + (1−y) log(1−σ(z))] is the same loss
written from the logits, so it stays finite for |z| up to 1e4 in float32.

This objective equals scikit-learn's ``LogisticRegression(C=C)`` objective
C Σᵢ logloss + ½‖w‖² divided by C·m when C = 1 / (m·l2).

Validation (shapes, labels in {0, 1}) runs at trace time, so every function
here can be wrapped in ``jax.jit``; label values are checked only when ``y`` is
concrete.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nnbasics._checks import fail, is_concrete, non_negative, positive_int

# A logistic model is a one-output linear model followed by σ: same parameter checks.
from nnbasics.linear import _check_params as _check_linear_params
from nnbasics.linear import _check_X

__all__ = ["nll", "grad", "hessian", "newton", "newton_path", "predict_proba", "predict"]


def _check_params(params, d: int) -> tuple[jax.Array, jax.Array]:
    w, b = _check_linear_params(params, d)
    if w.ndim != 1:
        fail("params['w']", f"shape ({d},): one output unit", f"shape {w.shape}")
    return w, b


def _check_y(y, n: int) -> jax.Array:
    y = jnp.asarray(y)
    if y.shape != (n,):
        fail("y", f"shape ({n},) to match X's {n} rows", f"shape {y.shape}")
    if is_concrete(y):
        values = np.unique(np.asarray(y))
        if not np.all((values == 0) | (values == 1)):
            fail("y", "labels in {0, 1}", f"values {values[:5].tolist()}")
    return y


def _check_l2(l2):
    return non_negative("l2", l2)


def _inputs(params, X, y, l2):
    X = _check_X(X)
    w, b = _check_params(params, X.shape[1])
    y = _check_y(y, X.shape[0])
    _check_l2(l2)
    return w, b, X, y


def _augment(X: jax.Array, dtype) -> jax.Array:
    """X̃ = [X, 1] of shape (n, d+1), so that z = X̃ θ with θ = [w; b]."""
    X = X.astype(dtype)
    return jnp.concatenate([X, jnp.ones((X.shape[0], 1), dtype)], axis=1)


def _theta_grad(theta, Xa, y, l2):
    """∇J(θ) on the augmented layout: (1/m) X̃ᵀ(σ(z) − y) + l2·[w; 0]."""
    z = Xa @ theta
    residual = jax.nn.sigmoid(z) - y.astype(z.dtype)
    penalty = l2 * theta.at[-1].set(0.0)
    return Xa.T @ residual / Xa.shape[0] + penalty


def _theta_hessian(theta, Xa, l2):
    """∇²J(θ) = (1/m) X̃ᵀ S X̃ + l2·diag([1, …, 1, 0])."""
    z = Xa @ theta
    # σ(z)σ(−z) rather than σ(z)(1 − σ(z)): no cancellation to 0 for large z.
    s = jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)
    d1 = Xa.shape[1]
    ridge = l2 * jnp.ones(d1, z.dtype).at[-1].set(0.0)
    H = Xa.T @ (s[:, None] * Xa) / Xa.shape[0] + jnp.diag(ridge)
    # The product rounds differently above and below the diagonal; averaging
    # makes H exactly symmetric, as Cholesky-based solvers assume.
    return 0.5 * (H + H.T)


def _newton_step(theta, Xa, y, l2):
    """Δθ = H⁻¹ ∇J(θ), the step that Newton's method subtracts."""
    return jnp.linalg.solve(_theta_hessian(theta, Xa, l2), _theta_grad(theta, Xa, y, l2))


def _newton_inputs(params, X, y, l2, steps):
    """Validated (θ₀ = [w; b], X̃, y, steps) for the Newton iterations."""
    w, b, X, y = _inputs(params, X, y, l2)
    steps = positive_int("steps", steps)
    dtype = _dtype(w, b, X)
    return _to_theta(w, b, dtype), _augment(X, dtype), y, steps


def _to_theta(w, b, dtype):
    return jnp.concatenate([w.astype(dtype), b.astype(dtype)[None]])


def _to_params(theta):
    return {"w": theta[:-1], "b": theta[-1]}


def _dtype(w, b, X):
    return jnp.result_type(w, b, X, jnp.float32)


def nll(params, X, y, l2=0.0):
    """Mean conditional negative log-likelihood plus the L2 penalty on ``w``.

    J = (1/m) Σᵢ [softplus(zᵢ) − yᵢ zᵢ] + (l2/2) ‖w‖², with z = X w + b.

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0); the bias is not penalized.

    Returns:
        The scalar J, shape ().

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros(2), "b": jnp.array(0.0)}
      >>> X, y = jnp.array([[1.0, 2.0], [-1.0, 0.5]]), jnp.array([1, 0])
      >>> float(nll(params, X, y))  # σ(0) = ½ for both: log 2
      0.693
    """
    w, b, X, y = _inputs(params, X, y, l2)
    z = X @ w + b
    data = jnp.mean(jax.nn.softplus(z) - y.astype(z.dtype) * z)
    return data + 0.5 * l2 * jnp.sum(w * w)


def grad(params, X, y, l2=0.0):
    """Hand-written gradient of :func:`nll`.

    ∂J/∂w = −(1/m) Σᵢ (yᵢ − σ(zᵢ)) xᵢ + l2·w,   ∂J/∂b = −(1/m) Σᵢ (yᵢ − σ(zᵢ)).

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).

    Returns:
        ``{"w": (d,), "b": ()}``, the same pytree as ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros(2), "b": jnp.array(0.0)}
      >>> X, y = jnp.array([[1.0, 2.0], [-1.0, 0.5]]), jnp.array([1, 0])
      >>> g = grad(params, X, y)  # (1/m) Σ (σ(z) − y) x
      >>> g["w"].tolist(), float(g["b"])
      ([-0.5, -0.375], 0.0)
    """
    w, b, X, y = _inputs(params, X, y, l2)
    z = X @ w + b
    residual = jax.nn.sigmoid(z) - y.astype(z.dtype)
    return {"w": X.T @ residual / X.shape[0] + l2 * w, "b": jnp.mean(residual)}


def hessian(params, X, y, l2=0.0):
    """Hand-written Hessian of :func:`nll` in the augmented layout θ = [w; b].

    H = (1/m) X̃ᵀ S X̃ + l2·diag([1, …, 1, 0]),  X̃ = [X, 1],  S = diag(σ(z) σ(−z)).

    Layout: a (d+1, d+1) matrix whose first d rows/columns belong to ``w`` (in
    order) and whose last row/column belongs to the bias ``b``; so ``H[:d, :d]``
    is ∂²J/∂w∂w, ``H[:d, d]`` is ∂²J/∂w∂b and ``H[d, d]`` is ∂²J/∂b². The labels
    do not enter H; ``y`` is taken (and validated) for a uniform signature.

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).

    Returns:
        H, shape (d+1, d+1), symmetric positive semi-definite.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros(1), "b": jnp.array(0.0)}
      >>> H = hessian(params, jnp.array([[1.0], [-1.0]]), jnp.array([1, 0]))
      >>> H.tolist()  # S = ¼ I: (1/m) X̃ᵀ S X̃
      [[0.25, 0.0], [0.0, 0.25]]
    """
    w, b, X, y = _inputs(params, X, y, l2)
    dtype = _dtype(w, b, X)
    return _theta_hessian(_to_theta(w, b, dtype), _augment(X, dtype), l2)


def newton(params, X, y, l2=0.0, steps=50, tol=1e-10):
    """Newton's method θ ← θ − H⁻¹ ∇J(θ) on θ = [w; b], from ``params``.

    Iterates until the step norm ‖H⁻¹∇J‖₂ falls below ``tol`` or ``steps``
    updates were made, inside ``lax.while_loop``, so it is pure and can be
    jitted (``steps`` must then be static; ``l2`` and ``tol`` may be traced).
    A NaN step (singular H) also stops the loop and leaves NaN parameters.
    With ``l2 = 0`` on linearly separable data the optimum is at infinity and
    the Hessian becomes singular: use ``l2 > 0`` there. To see the iterates,
    use :func:`newton_path`.

    Args:
        params: the starting point ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).
        steps: the maximum number of Newton updates (positive int).
        tol: stop once the last step's Euclidean norm is below this (≥ 0).

    Returns:
        The final ``{"w": (d,), "b": ()}``.

    Examples:
      >>> import jax.numpy as jnp
      >>> X = jnp.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
      >>> y = jnp.array([0, 1, 0, 1, 1])  # overlapping classes: a finite optimum
      >>> params = newton({"w": jnp.zeros(1), "b": jnp.array(0.0)}, X, y)
      >>> g = grad(params, X, y)
      >>> bool(abs(g["w"]).max() < 1e-5 and abs(g["b"]) < 1e-5)  # ∇J = 0 at the optimum
      True
    """
    theta0, Xa, y, steps = _newton_inputs(params, X, y, l2, steps)
    non_negative("tol", tol)

    def keep_going(state):
        i, _, step_norm = state
        return (i < steps) & (step_norm >= tol)

    def update(state):
        i, theta, _ = state
        step = _newton_step(theta, Xa, y, l2)
        return i + 1, theta - step, jnp.linalg.norm(step)

    start = (0, theta0, jnp.asarray(jnp.inf, theta0.dtype))
    _, theta, _ = jax.lax.while_loop(keep_going, update, start)
    return _to_params(theta)


def newton_path(params, X, y, l2=0.0, steps=10):
    """Every iterate of exactly ``steps`` Newton updates (no early stop).

    θ₀ = [w; b] from ``params``, θₜ₊₁ = θₜ − H(θₜ)⁻¹ ∇J(θₜ), run in ``lax.scan``;
    useful to watch the quadratic convergence of ‖θₜ − θ*‖ or ‖∇J(θₜ)‖.

    Args:
        params: the starting point ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).
        steps: the number of Newton updates (positive int, static under jit).

    Returns:
        ``{"w": (steps+1, d), "b": (steps+1,)}``: θ₀, θ₁, …, θ_steps stacked.

    Examples:
      >>> import jax.numpy as jnp
      >>> X, y = jnp.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]]), jnp.array([0, 1, 0, 1, 1])
      >>> path = newton_path({"w": jnp.zeros(1), "b": jnp.array(0.0)}, X, y, steps=3)
      >>> path["w"].shape, path["b"].shape  # θ₀ and three iterates
      ((4, 1), (4,))
    """
    theta0, Xa, y, steps = _newton_inputs(params, X, y, l2, steps)

    def update(theta, _):
        new = theta - _newton_step(theta, Xa, y, l2)
        return new, new

    _, thetas = jax.lax.scan(update, theta0, length=steps)
    path = jnp.concatenate([theta0[None], thetas])
    return {"w": path[:, :-1], "b": path[:, -1]}


def predict_proba(params, X):
    """p(y=1 | x) = σ(X w + b), shape (m,) for X of shape (m, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.array([2.0]), "b": jnp.array(-1.0)}
      >>> predict_proba(params, jnp.array([[0.5], [0.0]])).tolist()  # σ(0), σ(−1)
      [0.5, 0.269]
    """
    X = _check_X(X)
    w, b = _check_params(params, X.shape[1])
    return jax.nn.sigmoid(X @ w + b)


def predict(params, X):
    """Labels 1[σ(X w + b) > 0.5] as int32, shape (m,) for X of shape (m, d).

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.array([2.0]), "b": jnp.array(-1.0)}
      >>> predict(params, jnp.array([[0.0], [1.0]])).tolist()
      [0, 1]
    """
    return (predict_proba(params, X) > 0.5).astype(jnp.int32)
