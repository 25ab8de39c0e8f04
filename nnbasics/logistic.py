"""Logistic regression: NLL, hand-written gradient and Hessian, Newton's method.

The model is p(y=1 | x) = σ(z) with z = x·w + b. Parameters are the pytree
``{"w": (d,), "b": ()}``. The objective is the mean conditional negative
log-likelihood with an L2 penalty on the weights only:

    J(w, b) = (1/m) Σᵢ [softplus(zᵢ) − yᵢ zᵢ] + (l2/2) ‖w‖²

where softplus(z) − y z = −[y log σ(z) + (1−y) log(1−σ(z))] is the same loss
written from the logits, so it stays finite for |z| up to 1e4 in float32.

This objective equals scikit-learn's ``LogisticRegression(C=C)`` objective
C Σᵢ logloss + ½‖w‖² divided by C·m when C = 1 / (m·l2).

Every function takes optional per-example ``weights`` s (m,), s ≥ 0, which
turn each mean into the weighted mean Σᵢ sᵢ(·)ᵢ / Σᵢ sᵢ (scikit-learn's
``sample_weight``; C Σᵢ sᵢ logloss + ½‖w‖² is then J·C·Σs with l2 = 1/(C·Σs)).

The multinomial (softmax) model beside it, p(y=k | x) = softmax(x W + b)ₖ
with ``{"w": (d, K), "b": (K,)}``, has :func:`multinomial_nll`,
:func:`multinomial_grad` and :func:`multinomial_hessian`, written by hand as well.

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

__all__ = [
    "grad",
    "hessian",
    "multinomial_grad",
    "multinomial_hessian",
    "multinomial_nll",
    "newton",
    "newton_path",
    "nll",
    "predict",
    "predict_proba",
]


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


def _check_weights(weights, n: int):
    """None, or per-example weights of shape (n,), ≥ 0 and not all 0 (checked when concrete)."""
    if weights is None:
        return None
    weights = jnp.asarray(weights)
    if weights.shape != (n,):
        fail("weights", f"per-example weights of shape ({n},)", f"shape {weights.shape}")
    if is_concrete(weights):
        values = np.asarray(weights)
        if not (np.all(np.isfinite(values)) and np.all(values >= 0) and values.sum() > 0):
            fail("weights", "finite values >= 0, not all 0", f"values {values[:5].tolist()}")
    return weights


def _share(weights, m: int, dtype) -> jax.Array:
    """q = s / Σs of shape (m,), each example's share of a mean; 1/m each without weights."""
    if weights is None:
        return jnp.full((m,), 1.0 / m, dtype)
    weights = weights.astype(dtype)
    return weights / jnp.sum(weights)


def _augment(X: jax.Array, dtype) -> jax.Array:
    """X̃ = [X, 1] of shape (n, d+1), so that z = X̃ θ with θ = [w; b]."""
    X = X.astype(dtype)
    return jnp.concatenate([X, jnp.ones((X.shape[0], 1), dtype)], axis=1)


def _theta_grad(theta, Xa, y, l2, weights=None):
    """∇J(θ) on the augmented layout: X̃ᵀ q ⊙ (σ(z) − y) + l2·[w; 0], q = s / Σs (1/m)."""
    z = Xa @ theta
    residual = jax.nn.sigmoid(z) - y.astype(z.dtype)
    penalty = l2 * theta.at[-1].set(0.0)
    return Xa.T @ (_share(weights, Xa.shape[0], z.dtype) * residual) + penalty


def _theta_hessian(theta, Xa, l2, weights=None):
    """∇²J(θ) = X̃ᵀ diag(q ⊙ σ(z)σ(−z)) X̃ + l2·diag([1, …, 1, 0]), q = s / Σs (1/m)."""
    z = Xa @ theta
    # σ(z)σ(−z) rather than σ(z)(1 − σ(z)): no cancellation to 0 for large z.
    s = _share(weights, Xa.shape[0], z.dtype) * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)
    d1 = Xa.shape[1]
    ridge = l2 * jnp.ones(d1, z.dtype).at[-1].set(0.0)
    H = Xa.T @ (s[:, None] * Xa) + jnp.diag(ridge)
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


def nll(params, X, y, l2=0.0, weights=None):
    """Mean conditional negative log-likelihood plus the L2 penalty on ``w``.

    J = (1/m) Σᵢ [softplus(zᵢ) − yᵢ zᵢ] + (l2/2) ‖w‖², with z = X w + b;
    with ``weights`` s, the mean is Σᵢ sᵢ(·)ᵢ / Σᵢ sᵢ.

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0); the bias is not penalized.
        weights: None, or per-example weights (m,), ≥ 0, not all 0.

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
    weights = _check_weights(weights, X.shape[0])
    z = X @ w + b
    losses = jax.nn.softplus(z) - y.astype(z.dtype) * z
    return _share(weights, X.shape[0], z.dtype) @ losses + 0.5 * l2 * jnp.sum(w * w)


def grad(params, X, y, l2=0.0, weights=None):
    """Hand-written gradient of :func:`nll`.

    ∂J/∂w = −(1/m) Σᵢ (yᵢ − σ(zᵢ)) xᵢ + l2·w,   ∂J/∂b = −(1/m) Σᵢ (yᵢ − σ(zᵢ));
    with ``weights`` s, 1/m becomes sᵢ / Σs.

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).
        weights: None, or per-example weights (m,).

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
    weights = _check_weights(weights, X.shape[0])
    z = X @ w + b
    residual = _share(weights, X.shape[0], z.dtype) * (jax.nn.sigmoid(z) - y.astype(z.dtype))
    return {"w": X.T @ residual + l2 * w, "b": jnp.sum(residual)}


def hessian(params, X, y, l2=0.0, weights=None):
    """Hand-written Hessian of :func:`nll` in the augmented layout θ = [w; b].

    H = (1/m) X̃ᵀ S X̃ + l2·diag([1, …, 1, 0]),  X̃ = [X, 1],  S = diag(σ(z) σ(−z));
    with ``weights`` s, 1/m becomes sᵢ / Σs inside S.

    Layout: a (d+1, d+1) matrix whose first d rows/columns belong to ``w`` (in
    order) and whose last row/column belongs to the bias ``b``; so ``H[:d, :d]``
    is ∂²J/∂w∂w, ``H[:d, d]`` is ∂²J/∂w∂b and ``H[d, d]`` is ∂²J/∂b². The labels
    do not enter H; ``y`` is taken (and validated) for a uniform signature.

    Args:
        params: ``{"w": (d,), "b": ()}``.
        X: features, shape (m, d).
        y: labels in {0, 1}, shape (m,).
        l2: L2 strength (≥ 0).
        weights: None, or per-example weights (m,).

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
    weights = _check_weights(weights, X.shape[0])
    dtype = _dtype(w, b, X)
    return _theta_hessian(_to_theta(w, b, dtype), _augment(X, dtype), l2, weights)


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


# ------------------------------------------------------------ multinomial (softmax)


def _multinomial_inputs(params, X, y, l2, weights):
    X = _check_X(X)
    w, b = _check_linear_params(params, X.shape[1])
    if w.ndim != 2:
        fail("params['w']", f"shape ({X.shape[1]}, K): one column per class", f"shape {w.shape}")
    n, k = X.shape[0], w.shape[1]
    y = jnp.asarray(y)
    if y.shape != (n,) or not jnp.issubdtype(y.dtype, jnp.integer):
        fail("y", f"integer labels of shape ({n},) to match X's {n} rows", f"{y.dtype} {y.shape}")
    if is_concrete(y) and n and not (int(jnp.min(y)) >= 0 and int(jnp.max(y)) < k):
        fail("y", f"labels in 0..{k - 1}", f"range [{int(jnp.min(y))}, {int(jnp.max(y))}]")
    _check_l2(l2)
    return w, b, X, y, _check_weights(weights, n)


def _softmax_parts(w, b, X, y, weights):
    """(z, P = softmax(z), one-hot Y, q = s / Σs) for z = X w + b of shape (m, K)."""
    dtype = _dtype(w, b, X)
    z = X.astype(dtype) @ w.astype(dtype) + b.astype(dtype)
    return (
        z,
        jax.nn.softmax(z, axis=1),
        jax.nn.one_hot(y, w.shape[1], dtype=dtype),
        _share(weights, X.shape[0], dtype),
    )


def multinomial_nll(params, X, y, l2=0.0, weights=None):
    """Mean softmax (categorical) negative log-likelihood plus the L2 penalty on ``w``.

    J = Σᵢ qᵢ [logsumexp(zᵢ) − zᵢ,yᵢ] + (l2/2) ‖w‖²_F,  z = X w + b (m, K),
    qᵢ = 1/m, or sᵢ / Σs with ``weights`` s. Every class has its own column of
    ``w`` (scikit-learn's multinomial parametrization), so J is unchanged by adding
    one vector to every column of ``w`` and one number to every entry of ``b``.

    Args:
        params: ``{"w": (d, K), "b": (K,)}``.
        X: features, shape (m, d).
        y: integer labels in 0..K−1, shape (m,).
        l2: L2 strength (≥ 0); the biases are not penalized.
        weights: None, or per-example weights (m,), ≥ 0, not all 0.

    Returns:
        The scalar J, shape ().

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros((1, 3)), "b": jnp.zeros(3)}
      >>> round(float(multinomial_nll(params, jnp.array([[1.0]]), jnp.array([2]))), 4)  # log 3
      1.0986
    """
    w, b, X, y, weights = _multinomial_inputs(params, X, y, l2, weights)
    z, _, Y, q = _softmax_parts(w, b, X, y, weights)
    losses = jax.nn.logsumexp(z, axis=1) - jnp.sum(Y * z, axis=1)
    return q @ losses + 0.5 * l2 * jnp.sum(w * w)


def multinomial_grad(params, X, y, l2=0.0, weights=None):
    """Hand-written gradient of :func:`multinomial_nll`.

    With R = P − Y (m, K), P = softmax(z), Y one-hot, q as in :func:`multinomial_nll`:
    ∂J/∂w = Xᵀ (q ⊙ R) + l2·w,   ∂J/∂b = Σᵢ qᵢ Rᵢ.

    Returns:
        ``{"w": (d, K), "b": (K,)}``, the same pytree as ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros((1, 2)), "b": jnp.zeros(2)}
      >>> g = multinomial_grad(params, jnp.array([[2.0]]), jnp.array([1]))  # P = (½, ½)
      >>> g["w"].tolist(), g["b"].tolist()
      ([[1.0, -1.0]], [0.5, -0.5])
    """
    w, b, X, y, weights = _multinomial_inputs(params, X, y, l2, weights)
    z, P, Y, q = _softmax_parts(w, b, X, y, weights)
    R = q[:, None] * (P - Y)
    return {"w": X.astype(z.dtype).T @ R + l2 * w, "b": jnp.sum(R, axis=0)}


def multinomial_hessian(params, X, y, l2=0.0, weights=None):
    """Hand-written Hessian of :func:`multinomial_nll` on θ = [w; b] flattened row by row.

    θ is the (d+1, K) matrix [w; b] read row-major, so entry (j, k) (feature j, or
    the bias for j = d; class k) sits at index j·K + k. With X̃ = [X, 1] and
    P = softmax(z):

        H[(j,k), (l,c)] = Σᵢ qᵢ x̃ᵢⱼ x̃ᵢₗ (Pᵢₖ δₖ꜀ − Pᵢₖ Pᵢ꜀) + l2·δⱼₗ δₖ꜀ [j < d]

    i.e. Σᵢ qᵢ (x̃ᵢ x̃ᵢᵀ) ⊗ (diag(Pᵢ) − Pᵢ Pᵢᵀ) plus the ridge on the weights. It is
    singular along the directions that add one vector to every class (the model's
    invariance above): each Newton solve must account for them (the estimator
    ``nnbasics.sklearn.LogisticRegression`` does).

    Returns:
        H, shape ((d+1)·K, (d+1)·K), symmetric positive semi-definite.

    Examples:
      >>> import jax.numpy as jnp
      >>> params = {"w": jnp.zeros((1, 2)), "b": jnp.zeros(2)}
      >>> H = multinomial_hessian(params, jnp.array([[1.0]]), jnp.array([0]))
      >>> H.shape, H[0].tolist()  # P = (½, ½): diag(P) − PPᵀ = ¼ [[1, −1], [−1, 1]]
      ((4, 4), [0.25, -0.25, 0.25, -0.25])
    """
    w, b, X, y, weights = _multinomial_inputs(params, X, y, l2, weights)
    z, P, _, q = _softmax_parts(w, b, X, y, weights)
    Xa = _augment(X, z.dtype)
    d1, k = Xa.shape[1], w.shape[1]
    # Σᵢ qᵢ Pᵢₖ x̃ᵢ x̃ᵢᵀ for each class k, placed on the k = c diagonal ...
    diagonal = jnp.einsum("ik,ij,il->jkl", q[:, None] * P, Xa, Xa)
    H = jnp.einsum("jkl,kc->jklc", diagonal, jnp.eye(k, dtype=z.dtype))
    # ... minus Uᵀ diag(q) U with U[i, (j, k)] = x̃ᵢⱼ Pᵢₖ.
    U = (Xa[:, :, None] * P[:, None, :]).reshape(Xa.shape[0], d1 * k)
    H = H.reshape(d1 * k, d1 * k) - U.T @ (q[:, None] * U)
    ridge = l2 * jnp.ones((d1, k), z.dtype).at[-1].set(0.0).reshape(-1)
    H = H + jnp.diag(ridge)
    return 0.5 * (H + H.T)


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
