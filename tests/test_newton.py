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


# --- newton


def _quartic(params):
    return jnp.sum(params["x"] ** 4)


def test_newton_stops_after_the_default_twenty_steps():
    # On x⁴ a Newton step is x − 4x³/(12x²) = (2/3)x, and ∇f = 4x³ stays above the default
    # tol 1e-10 for 20 steps from x = 3: newton's documented default steps=20 is reached.
    result = newton.newton(_quartic, {"x": jnp.array([3.0])})
    assert int(result.steps) == 20
    assert jnp.issubdtype(result.steps.dtype, jnp.integer)  # NewtonResult: "() int"
    np.testing.assert_allclose(result.params["x"], [3.0 * (2 / 3) ** 20], rtol=1e-12)
    np.testing.assert_allclose(result.grad_norm, 4 * (3.0 * (2 / 3) ** 20) ** 3, rtol=1e-11)


@pytest.mark.parametrize("arg", ["damping", "step_size", "tol"])
def test_newton_refuses_infinite_options(arg):
    # Documented ranges: λ >= 0, η > 0, tol >= 0, real numbers (inf is bad input).
    with pytest.raises(ValueError, match=rf"^{arg}: expected .*received inf"):
        newton.newton(_quartic, {"x": jnp.array([3.0])}, **{arg: float("inf")})
    if arg != "tol":
        with pytest.raises(ValueError, match=rf"^{arg}: expected .*received inf"):
            newton.newton_step(_quartic, {"x": jnp.array([3.0])}, **{arg: float("inf")})


def test_newton_keeps_float32_parameters_float32():
    params = {"x": jnp.array([3.0, -1.0], jnp.float32)}
    assert newton.newton_step(_quartic, params, damping=0.5)["x"].dtype == jnp.float32
    assert newton.newton(_quartic, params, damping=0.5).params["x"].dtype == jnp.float32
