"""nnbasics.losses: each output's negative log-likelihood, spread and dtype against independent formulas."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

from nnbasics import losses

# --- NLLs in nats against jax.scipy.stats densities


def _softplus(r):
    return np.logaddexp(r, 0.0)


@pytest.mark.parametrize("r_value", [2.0, 0.0, -5.0, -12.0, -40.0])
def test_gaussian_nll_is_the_nll_in_nats(r_value):
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(4, 3))
    r = np.full((4, 3), r_value) + rng.normal(size=(4, 3)) * 0.1
    y = rng.normal(size=(4, 3))
    tau = _softplus(r)
    ref = -np.sum(norm.logpdf(y, mu, 1 / np.sqrt(tau)), axis=-1)
    got = losses.gaussian_nll(jnp.concatenate([mu, r], axis=-1), y)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("r_value", [1.0, -5.0, -40.0])
def test_mixture_nll_is_the_nll_in_nats(r_value):
    rng = np.random.default_rng(1)
    n, k, d = 4, 3, 2
    logits = rng.normal(size=(n, k))
    mu = rng.normal(size=(n, k, d))
    r = r_value + 0.1 * rng.normal(size=(n, k, d))
    y = rng.normal(size=(n, d)) * 0.01
    z = np.concatenate([logits, mu.reshape(n, -1), r.reshape(n, -1)], axis=-1)
    sd = 1 / np.sqrt(_softplus(r))
    log_pi = logits - jax.scipy.special.logsumexp(logits, axis=-1, keepdims=True)
    comp = np.sum(norm.logpdf(y[:, None, :], mu, sd), axis=-1)
    ref = -jax.scipy.special.logsumexp(log_pi + comp, axis=-1)
    np.testing.assert_allclose(losses.mixture_nll(z, y), ref, rtol=1e-12)


def test_linear_nll_is_half_squared_error_without_the_constant():
    z = jnp.array([[1.0, -2.0], [0.5, 0.0]])
    y = jnp.array([[0.0, 0.0], [0.5, 3.0]])
    np.testing.assert_allclose(losses.linear_nll(z, y), [2.5, 4.5], rtol=1e-15)
    ref = -np.sum(norm.logpdf(y, z, 1.0), axis=-1) - 2 * 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(losses.linear_nll(z, y), ref, rtol=1e-12)


# --- predicted spreads against their closed form


def test_gaussian_std_is_one_over_root_precision():
    rng = np.random.default_rng(2)
    mu = rng.normal(size=(3, 2))
    r = np.array([[3.0, 0.0], [-5.0, -12.0], [-40.0, 1.5]])
    got = losses.gaussian_std(jnp.concatenate([mu, r], axis=-1), 2)
    np.testing.assert_allclose(got, 1 / np.sqrt(_softplus(r)), rtol=1e-12)


def test_mixture_std_is_the_law_of_total_variance():
    rng = np.random.default_rng(3)
    n, k, d = 5, 3, 2
    logits = rng.normal(size=(n, k))
    mu = 3 * rng.normal(size=(n, k, d)) + 2.0  # a large mean: the −mean² term matters
    r = rng.normal(size=(n, k, d)) - 1.0
    z = np.concatenate([logits, mu.reshape(n, -1), r.reshape(n, -1)], axis=-1)
    pi = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    mean = np.einsum("nk,nkd->nd", pi, mu)
    var = np.einsum("nk,nkd->nd", pi, 1 / _softplus(r) + (mu - mean[:, None, :]) ** 2)
    np.testing.assert_allclose(losses.mixture_mean(z, d), mean, rtol=1e-12)
    np.testing.assert_allclose(losses.mixture_std(z, d), np.sqrt(var), rtol=1e-10)


def test_mixture_std_matches_a_sampled_estimate():
    logits = np.array([[0.0, 1.0]])
    mu = np.array([[[-2.0], [3.0]]])
    r = np.array([[[0.5], [-1.0]]])
    z = np.concatenate([logits, mu.reshape(1, -1), r.reshape(1, -1)], axis=-1)
    rng = np.random.default_rng(4)
    m = 400_000
    pi = np.exp(logits[0]) / np.exp(logits[0]).sum()
    comp = rng.choice(2, size=m, p=pi)
    samples = mu[0, comp, 0] + rng.normal(size=m) / np.sqrt(_softplus(r[0, comp, 0]))
    # Standard error of a sample std of this size is below 0.01.
    np.testing.assert_allclose(losses.mixture_std(z, 1)[0, 0], samples.std(), atol=0.02)


# --- losses: each unit keeps the logits' dtype; the mixture's spread below 1


def _losses_inputs(name, dtype):
    unit = losses.OUTPUT[name]
    width = unit.width(2, 3)
    z = jnp.asarray(np.linspace(-1.0, 1.0, 4 * width).reshape(4, width), dtype)
    if unit.target == "labels":
        return z, jnp.asarray([0, 1, 1, 0])
    if unit.target == "binary":
        return z, jnp.asarray([[1, 0], [0, 1], [1, 1], [0, 0]], dtype)
    return z, jnp.asarray(np.linspace(-0.5, 0.5, 8).reshape(4, 2), dtype)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("name", sorted(losses.OUTPUT))
def test_losses_keep_the_logits_dtype(name, dtype):
    # float64 is on in the tests: a term built in the default dtype would promote.
    z, y = _losses_inputs(name, dtype)
    unit = losses.OUTPUT[name]
    # eval_shape: the dtypes as traced, nothing compiled or computed.
    assert jax.eval_shape(unit.nll, z, y).dtype == dtype
    assert jax.eval_shape(unit.delta, z, y).dtype == dtype


def test_losses_mixture_std_below_one():
    # Two equal components at ±0.1 of precision 100: variance 1/τ + 0.1² = 0.02.
    r = math.log(math.expm1(100.0))
    z = jnp.array([[0.0, 0.0, -0.1, 0.1, r, r]])
    std = jax.jit(losses.mixture_std, static_argnums=1)(z, 1)
    np.testing.assert_allclose(std, [[math.sqrt(0.02)]], rtol=1e-12)


def test_losses_gaussian_spread_and_gradient_at_the_tiny_precision_cut():
    # r = −30 exactly (losses._TINY_R): the closed forms still apply there.
    r, mu, y = -30.0, 0.5, 0.0
    tau, sig = np.logaddexp(r, 0.0), 1 / (1 + np.exp(-r))
    z = jnp.array([[mu, r]])
    both = jax.jit(lambda z, y: (losses.gaussian_std(z, 1), losses.gaussian_delta(z, y)))
    std, delta = both(z, jnp.array([[y]]))
    np.testing.assert_allclose(std, [[1 / np.sqrt(tau)]], rtol=1e-12)
    ref = [[tau * (mu - y), sig * (0.5 * (y - mu) ** 2 - 0.5 / tau)]]
    np.testing.assert_allclose(delta, ref, rtol=1e-12)


def test_softmax_delta_of_one_example_is_its_row_of_a_batch():
    z, y = jnp.array([[0.3, -1.0, 2.0], [1.0, 0.0, 0.5]]), jnp.array([2, 0])
    np.testing.assert_allclose(losses.softmax_delta(z[0], y[0]), losses.softmax_delta(z, y)[0])
