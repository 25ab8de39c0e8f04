"""nnbasics.activations: each unit's value against NumPy and its derivative against jax.grad, at the exact points (0, ties)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import activations

RTOL_EXACT = 1e-12


A = np.array([-40.0, -3.0, -0.5, 0.0, 0.25, 2.0, 40.0, 800.0])

# --- activations: every unit's value against NumPy, its derivative against jax.grad

REFERENCE = {
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": np.tanh,
    "linear": lambda a: a,
    "softplus": lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_each_unit_value_and_derivative(name):
    unit = activations.HIDDEN[name]
    a = jnp.asarray(A, jnp.float64)
    np.testing.assert_allclose(unit.g(a), REFERENCE[name](A), rtol=RTOL_EXACT, atol=0)
    auto = jax.vmap(jax.grad(unit.g))(a)
    np.testing.assert_allclose(unit.g_prime(a), auto, rtol=RTOL_EXACT, atol=1e-300)
    assert unit.g_prime(a).shape == a.shape and unit.g_prime(a).dtype == a.dtype


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("name", sorted(activations.HIDDEN))
def test_each_derivative_keeps_the_dtype(name, dtype):
    # float64 is on in the tests, so a derivative built in the default dtype would be
    # float64 here (and float32 for bfloat16 input without it): never the input's.
    a = jnp.asarray([[[0.5, -1.0], [2.0, 2.0]]], dtype)
    if name != "maxout":
        a = a[..., 0]
    assert activations.HIDDEN[name].g_prime(a).dtype == dtype


def test_maxout_value_and_one_hot_derivative():
    a = jnp.array([[[1.0, 3.0, -2.0], [-5.0, -4.0, -6.0]]], jnp.float64)
    np.testing.assert_array_equal(activations.maxout(a), [[3.0, -4.0]])
    np.testing.assert_array_equal(activations.maxout_grad(a), [[[0, 1, 0], [0, 1, 0]]])


GRAD_RTOL = 1e-10


# --- conventions at the exact points


def test_relu_grad_is_zero_at_zero_and_equals_jax_grad_there():
    a = jnp.array([-1.0, 0.0, -0.0, 1e-300, 2.0], dtype=jnp.float64)
    np.testing.assert_array_equal(activations.relu_grad(a), [0.0, 0.0, 0.0, 1.0, 1.0])
    auto = jax.vmap(jax.grad(activations.relu))(a)
    np.testing.assert_array_equal(activations.relu_grad(a), auto)

    # (jax.grad(jnp.abs)(0.) is 1, so the documented subgradient 0 is pinned directly.)


def test_maxout_ties_share_the_gradient_like_jax_grad():
    a = jnp.array(
        [[[1.0, 1.0, 0.0], [2.0, 2.0, 2.0]], [[0.5, -1.0, 0.5], [3.0, 1.0, 0.0]]],
        dtype=jnp.float64,
    )
    cot = jnp.array([[1.5, -2.0], [0.7, 3.0]])
    hand = activations.maxout_grad(a) * cot[..., None]
    _, vjp = jax.vjp(activations.maxout, a)
    (auto,) = vjp(cot)
    np.testing.assert_allclose(hand, auto, rtol=GRAD_RTOL, atol=0)
    np.testing.assert_array_equal(activations.maxout_grad(a)[0, 1], [1 / 3, 1 / 3, 1 / 3])
