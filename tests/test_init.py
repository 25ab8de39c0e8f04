"""nnbasics.init: Glorot bounds and spread, zeros, and the requested dtype."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import init

# --- init: Glorot's bound and the uniform's support and spread


def test_glorot_bound_is_root_six_over_fans():
    assert init.glorot_bound(3, 5) == pytest.approx(math.sqrt(0.75), rel=1e-15)
    assert init.glorot_bound(1, 1) == pytest.approx(math.sqrt(3.0), rel=1e-15)


@pytest.mark.parametrize("how", ["one", "layers"])
def test_glorot_draws_fill_their_bounds_with_the_uniform_spread(how):
    shapes = [(300, 200), (200, 100, 2)]
    key = jax.random.key(0)
    if how == "one":
        draws = [
            init.glorot_uniform(k, s, jnp.float64) for k, s in zip(jax.random.split(key), shapes)
        ]
    else:
        draws = init.glorot_uniform_layers(key, shapes, jnp.float64)
    for W, shape in zip(draws, shapes):
        b = math.sqrt(6.0 / (shape[0] + shape[1]))
        assert W.shape == shape and W.dtype == jnp.float64
        assert float(jnp.max(jnp.abs(W))) <= b and float(jnp.max(jnp.abs(W))) > 0.99 * b
        assert float(jnp.min(W)) < -0.99 * b  # both signs: U[−b, b], not U[0, b]
        np.testing.assert_allclose(float(jnp.std(W)), b / math.sqrt(3), rtol=0.02)
        assert abs(float(jnp.mean(W))) < 0.01 * b
    assert len({float(d.ravel()[0]) for d in draws}) == 2  # independent pieces


def test_zeros_are_zeros_of_the_dtype():
    z = init.zeros((3,), jnp.float64)
    assert z.dtype == jnp.float64
    np.testing.assert_array_equal(z, np.zeros(3))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_init_keeps_the_requested_dtype(dtype):
    # float64 is on in the tests: a draw in the default dtype would come out float64.
    key = jax.random.key(0)
    assert init.glorot_uniform(key, (3, 2), dtype).dtype == dtype
    shapes = [(3, 2), (2, 4), (4, 1)]  # three layers: the cut points are all but the last
    layers = init.glorot_uniform_layers(key, shapes, dtype)
    assert [w.shape for w in layers] == shapes and all(w.dtype == dtype for w in layers)
    assert init.zeros((3,), dtype).dtype == dtype
