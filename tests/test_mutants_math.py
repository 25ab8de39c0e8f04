"""Tests that kill the mutants of the second round's mathematical modules (docs/mutation-report.md).

Each pins a documented claim (a docstring equation, a default, DESIGN.md) to a
value computed independently (NumPy, optax, ``jax.grad``), never read back from
the code under test. Each is small and fast: it runs once per mutant. float64.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import graph, optim

RTOL = 1e-12

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
        np.testing.assert_allclose(grads["W"], np.einsum("ni,no...->io...", h, delta), rtol=RTOL)
        np.testing.assert_allclose(grads["b"], delta.sum(axis=0), rtol=RTOL)
        expected = delta.reshape(3, -1) @ W.reshape(2, -1).T
        np.testing.assert_allclose(grad_h, expected, rtol=RTOL)
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
    np.testing.assert_allclose(graph.loss.fprop("softmax", *args), expected, rtol=RTOL)
    delta = (np.exp(log_p) - np.eye(3)[y]) * (weights / weights.sum())[:, None]
    np.testing.assert_allclose(graph.loss.bprop("softmax", *args), delta, rtol=RTOL, atol=1e-300)
    # Without weights: the plain mean, and (f(x) − e(y))/n.
    np.testing.assert_allclose(graph.loss.fprop("softmax", *args[:2]), nll.mean(), rtol=RTOL)
    unweighted = (np.exp(log_p) - np.eye(3)[y]) / 4
    np.testing.assert_allclose(graph.loss.bprop("softmax", *args[:2]), unweighted, rtol=RTOL)


# --- optim: every hyper-parameter's refusal names that argument (DESIGN.md: a one-line
# ValueError naming the argument, the expected and the received value)

REFUSED = {
    "sgd": dict(learning_rate=-1.0, weight_decay=-1.0, accumulator_dtype="float99"),
    "momentum": dict(
        beta=1.0,
        nesterov="yes",
        accumulator_dtype="float99",
        dampening=-0.5,
        weight_decay=-1.0,
        lr_in_velocity="yes",
    ),
    "adagrad": dict(initial_accumulator_value=-1.0, eps=-1.0, eps_in_sqrt="yes", weight_decay=-1.0),
    "rmsprop": dict(
        decay=1.0,
        eps=-1.0,
        eps_in_sqrt="yes",
        initial_scale=-1.0,
        centered="yes",
        momentum=1.0,
        nesterov="yes",
        weight_decay=-1.0,
    ),
    "adam": dict(
        b1=1.0,
        b2=-0.5,
        eps=-1.0,
        eps_root=-1.0,
        mu_dtype="float99",
        nesterov="yes",
        fold_bias_correction="yes",
        weight_decay=-1.0,
    ),
    "adamw": dict(weight_decay=-1.0, fold_bias_correction="yes"),
    "nadam": dict(b1=-0.1, weight_decay=-1.0),
    "amsgrad": dict(bias_correction_mu="yes", bias_correction_nu="yes", weight_decay=-1.0),
}
CASES = [(name, arg, value) for name, args in REFUSED.items() for arg, value in args.items()]


@pytest.mark.parametrize(("name", "arg", "value"), CASES, ids=[f"{n}-{a}" for n, a, _ in CASES])
def test_each_refused_hyperparameter_is_named_with_what_was_received(name, arg, value):
    kwargs = {"learning_rate": 0.1, arg: value}
    with pytest.raises(ValueError, match=rf"^{arg}: expected .*, received .*{value}"):
        getattr(optim, name)(**kwargs)


def test_rmsprop_state_holds_only_the_moments_its_options_use():
    # RmspropState's docstring: mu and trace are None when unused (centered, momentum off).
    params = {"w": jnp.zeros(2)}
    state = optim.rmsprop(0.1).init(params)
    assert state.mu is None and state.trace is None
    state = optim.rmsprop(0.1, centered=True, momentum=0.5).init(params)
    np.testing.assert_array_equal(state.mu["w"], [0.0, 0.0])
    np.testing.assert_array_equal(state.trace["w"], [0.0, 0.0])
