"""nnbasics.graph: the dense and loss nodes' forward and backward passes."""

import jax.numpy as jnp
import numpy as np

from nnbasics import graph

RTOL_EXACT = 1e-12


# --- graph: the boxes' equations


def _dense_case(pieces=None):
    rng = np.random.default_rng(0)
    extra = () if pieces is None else (pieces,)
    h = rng.normal(size=(3, 2))
    W = rng.normal(size=(2, 4) + extra)
    b = rng.normal(size=(4,) + extra)
    delta = rng.normal(size=(3, 4) + extra)
    return {"W": jnp.asarray(W), "b": jnp.asarray(b)}, h, delta


def test_dense_bprop_returns_the_input_gradient_by_default():
    # Docstring: ∇W = hᵀδ, ∇b = Σₙ δ, ∇h = δ Wᵀ; only need_input=False skips ∇h.
    for pieces in (None, 3):
        layer, h, delta = _dense_case(pieces)
        W = np.asarray(layer["W"])
        grads, grad_h = graph.dense.bprop(layer, jnp.asarray(h), jnp.asarray(delta))
        np.testing.assert_allclose(
            grads["W"], np.einsum("ni,no...->io...", h, delta), rtol=RTOL_EXACT
        )
        np.testing.assert_allclose(grads["b"], delta.sum(axis=0), rtol=RTOL_EXACT)
        expected = delta.reshape(3, -1) @ W.reshape(2, -1).T
        np.testing.assert_allclose(grad_h, expected, rtol=RTOL_EXACT)
        _, skipped = graph.dense.bprop(layer, jnp.asarray(h), jnp.asarray(delta), False)
        assert skipped is None


def _softmax_case():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 3))
    y = np.array([0, 2, 1, 2])
    weights = np.array([1.0, 2.0, 0.0, 0.5])
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return z, y, weights, log_p


def test_weighted_loss_is_the_weighted_mean_nll_and_its_gradient():
    # Docstrings: J = Σₙ wₙ nllₙ / Σₙ wₙ and ∇_z J = (f(x) − e(y))·wₙ/Σw for softmax.
    z, y, weights, log_p = _softmax_case()
    nll = -log_p[np.arange(4), y]
    args = (jnp.asarray(z), jnp.asarray(y), jnp.asarray(weights))
    expected = np.sum(weights * nll) / np.sum(weights)
    np.testing.assert_allclose(graph.loss.fprop("softmax", *args), expected, rtol=RTOL_EXACT)
    delta = (np.exp(log_p) - np.eye(3)[y]) * (weights / weights.sum())[:, None]
    np.testing.assert_allclose(
        graph.loss.bprop("softmax", *args), delta, rtol=RTOL_EXACT, atol=1e-300
    )
    # Without weights: the plain mean, and (f(x) − e(y))/n.
    np.testing.assert_allclose(graph.loss.fprop("softmax", *args[:2]), nll.mean(), rtol=RTOL_EXACT)
    unweighted = (np.exp(log_p) - np.eye(3)[y]) / 4
    np.testing.assert_allclose(graph.loss.bprop("softmax", *args[:2]), unweighted, rtol=RTOL_EXACT)
