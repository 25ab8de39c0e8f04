"""Tests that pin the mathematical claims at the exact points where a one-line change
would go unnoticed elsewhere (issue 21). Each test names the mutation it kills in
docs/testing.md; all run in float64 and compare with independent references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

from nnbasics import activations, data, losses, optim, regularizers
from nnbasics.mlp import MLP

RTOL = 1e-10


# --- conventions at the exact points


def test_relu_grad_is_zero_at_zero_and_equals_jax_grad_there():
    a = jnp.array([-1.0, 0.0, -0.0, 1e-300, 2.0], dtype=jnp.float64)
    np.testing.assert_array_equal(activations.relu_grad(a), [0.0, 0.0, 0.0, 1.0, 1.0])
    auto = jax.vmap(jax.grad(activations.relu))(a)
    np.testing.assert_array_equal(activations.relu_grad(a), auto)


def test_backprop_equals_jax_grad_where_relu_preactivations_are_exactly_zero():
    # Zero weights and biases: every hidden pre-activation is exactly 0.
    net = MLP((2, 3, 2), hidden="relu", output="softmax")
    params = net.init(jax.random.key(0), jnp.float64)
    params[0] = {"W": jnp.zeros((2, 3)), "b": jnp.zeros(3)}
    params[1] = {"W": jnp.ones((3, 2)), "b": jnp.array([0.3, -0.1])}
    X = jnp.array([[1.0, -2.0], [0.5, 0.25]])
    y = jnp.array([0, 1])
    _, grads = net.backprop(params, X, y)
    auto = jax.grad(net.loss)(params, X, y)
    for g, a in zip(grads, auto):
        np.testing.assert_allclose(g["W"], a["W"], rtol=RTOL, atol=0)
        np.testing.assert_allclose(g["b"], a["b"], rtol=RTOL, atol=0)


def test_l1_grad_is_sign_with_zero_at_zero():
    params = [{"W": jnp.array([[-2.0, 0.0, 3.0]]), "b": jnp.array([1.0, -1.0, 0.0])}]
    g = regularizers.l1_grad(params)
    np.testing.assert_array_equal(g[0]["W"], [[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(g[0]["b"], [0.0, 0.0, 0.0])
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
    np.testing.assert_allclose(hand, auto, rtol=RTOL, atol=0)
    np.testing.assert_array_equal(activations.maxout_grad(a)[0, 1], [1 / 3, 1 / 3, 1 / 3])


def test_maxout_network_backprop_equals_jax_grad_on_real_ties():
    # Two equal pieces per unit (duplicated weight columns), so every unit ties, and a
    # second layer that does not make the first layer's gradient vanish.
    net = MLP((2, 2, 2), hidden="maxout", output="softmax", pieces=2)
    params = net.init(jax.random.key(1), jnp.float64)
    W0 = jnp.array([[0.7, -0.4], [0.2, 0.9]])
    W0 = jnp.repeat(W0, 2, axis=1)  # columns (unit j, piece p) equal across p
    b0 = jnp.repeat(jnp.array([0.1, -0.3]), 2)
    params[0] = {"W": W0.reshape(params[0]["W"].shape), "b": b0.reshape(params[0]["b"].shape)}
    X = jnp.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.0]])
    y = jnp.array([1, 0, 1])
    z, tapes = net.forward(params, X)
    a = tapes[0].a
    assert bool(jnp.all(a[..., 0] == a[..., 1]))  # the ties are real
    _, grads = net.backprop(params, X, y)
    auto = jax.grad(net.loss)(params, X, y)
    assert float(jnp.max(jnp.abs(auto[0]["W"]))) > 1e-3  # the test can fail
    for g, ref in zip(grads, auto):
        np.testing.assert_allclose(g["W"], ref["W"], rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(g["b"], ref["b"], rtol=RTOL, atol=1e-15)


# --- manual_loss's custom_vjp under non-unit cotangents


def _small_problem():
    net = MLP((3, 4, 3), hidden="tanh", output="softmax")
    params = net.init(jax.random.key(2), jnp.float64)
    X = jax.random.normal(jax.random.key(3), (5, 3), jnp.float64)
    y = jnp.array([0, 2, 1, 1, 0])
    return net, params, X, y


@pytest.mark.parametrize("cotangent", [-2.5, 0.37, 7.0])
def test_manual_loss_vjp_scales_by_the_cotangent(cotangent):
    net, params, X, y = _small_problem()
    l2, l1 = 0.01, 0.002
    _, vjp_m = jax.vjp(net.manual_loss, params, X, y, l2, l1)
    _, vjp_a = jax.vjp(net.loss, params, X, y, l2, l1)
    got = vjp_m(jnp.float64(cotangent))
    ref = vjp_a(jnp.float64(cotangent))
    for i in (0, 1, 3, 4):  # params, X, l2, l1
        for g, r in zip(jax.tree.leaves(got[i]), jax.tree.leaves(ref[i])):
            np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-15)


def test_grad_of_a_composed_manual_loss_equals_jax_grad():
    net, params, X, y = _small_problem()

    def outer(loss):
        return lambda p: jnp.sin(3.0 * loss(p, X, y)) + loss(p, X, y) ** 2

    got = jax.grad(outer(net.manual_loss))(params)
    ref = jax.grad(outer(net.loss))(params)
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-15)


def test_per_example_grads_under_random_weighting_equal_jax_grad():
    net, params, X, y = _small_problem()
    c = jax.random.normal(jax.random.key(4), (5,), jnp.float64)

    def total(loss, p):
        per = jax.vmap(lambda x, t: loss(p, x[None], t[None]))(X, y)
        return jnp.sum(c * per)

    got = jax.grad(lambda p: total(net.manual_loss, p))(params)
    ref = jax.grad(lambda p: total(net.loss, p))(params)
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(g, r, rtol=RTOL, atol=1e-15)


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


# --- documented constants pinned to the documented values


@pytest.mark.parametrize(
    ("name", "lr"),
    [
        ("sgd", 0.1),
        ("momentum", 0.01),
        ("nesterov", 0.01),
        ("adagrad", 0.1),
        ("rmsprop", 1e-3),
        ("adam", 1e-3),
        ("adamw", 1e-3),
        ("nadam", 1e-3),
        ("amsgrad", 1e-3),
    ],
)
def test_default_learning_rates_are_the_documented_ones(name, lr):
    assert optim.REGISTRY[name].default_lr == lr


def test_at_most_twenty_distinct_integers_are_inferred_as_classes(tmp_path):
    # README/docstring: integer targets with at most 20 distinct values are classes.
    for k, task in ((20, "classification"), (21, "regression")):
        path = tmp_path / f"k{k}.csv"
        path.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(k)))
        assert data.read(path).task == task
