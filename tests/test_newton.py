"""Newton's method on the course's ill-conditioned quadratic x1²/a² + x2²."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import newton

A = 10.0


def f(params):
    x = params["x"]
    return x[0] ** 2 / A**2 + x[1] ** 2


X0 = {"x": jnp.array([1.0, 1.0])}


def test_newton_exact_in_one_step():
    step = newton.newton_step(f, X0)
    np.testing.assert_allclose(step["x"], [0.0, 0.0], atol=1e-15)
    result = newton.newton(f, X0, steps=50)
    assert int(result.steps) == 1
    assert float(result.grad_norm) <= 1e-15
    np.testing.assert_allclose(result.params["x"], [0.0, 0.0], atol=1e-15)


def test_steepest_descent_zigzags():
    """With a fixed step, GD oscillates in x2 (sign flips every step) and crawls in x1."""
    grad = jax.grad(f)
    eta = 0.9  # the notes' step: x2 ← (1 − 2η)x2 = −0.8·x2
    x = X0
    xs = []
    for _ in range(200):
        x = jax.tree.map(lambda p, g: p - eta * g, x, grad(x))
        xs.append(np.asarray(x["x"]))
        if np.max(np.abs(xs[-1])) < 1e-6:
            break
    xs = np.array(xs)
    signs = np.sign(xs[:20, 1])
    assert np.all(signs[1:] == -signs[:-1])  # zig-zag across the valley
    assert np.all(xs[:, 0] > 0)  # x1 never overshoots, it crawls: factor 1 − 2η/a²
    assert len(xs) == 200 and np.abs(xs[-1, 0]) > 1e-2  # far from converged after 200 steps


def test_pytree_and_damping():
    """Damping λ shrinks the step: θ − (H + λI)⁻¹∇f, H = diag(2/a², 2)."""
    lam = 0.5
    params = {"x": jnp.array([1.0, 1.0]), "y": jnp.array(2.0)}
    g = lambda p: f(p) + 3.0 * (p["y"] - 1.0) ** 2
    out = newton.newton_step(g, params, damping=lam, step_size=0.5)
    H = np.array([2 / A**2, 2.0, 6.0])
    grad = np.array([2 / A**2, 2.0, 6.0])
    expected = np.array([1.0, 1.0, 2.0]) - 0.5 * grad / (H + lam)
    np.testing.assert_allclose(np.r_[out["x"], out["y"]], expected, rtol=1e-14)


def test_newton_under_jit_on_non_quadratic():
    """A smooth convex non-quadratic converges quadratically, inside jit."""
    h = lambda p: jnp.sum(jnp.logaddexp(0.0, p["x"]) - 0.3 * p["x"] + 0.1 * p["x"] ** 2)
    result = jax.jit(lambda p: newton.newton(h, p, steps=30, tol=1e-12))(X0)
    assert int(result.steps) < 10 and float(result.grad_norm) <= 1e-12
    np.testing.assert_allclose(jax.grad(h)(result.params)["x"], 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(damping=-1.0), "damping"),
        (dict(step_size=0.0), "step_size"),
        (dict(steps=0), "steps"),
        (dict(tol=-1.0), "tol"),
    ],
)
def test_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        newton.newton(f, X0, **kwargs)
