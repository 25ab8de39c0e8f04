"""Tests that kill the mutants of the second round's mathematical modules (docs/mutation-report.md).

Each pins a documented claim (a docstring equation, a default, DESIGN.md) to a
value computed independently (NumPy, optax, ``jax.grad``), never read back from
the code under test. Each is small and fast: it runs once per mutant. float64.
"""

import re

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnbasics import graph, optim, schedules

RTOL = 1e-12


def _whole(message):
    """A pytest.raises pattern that matches exactly ``message``, the whole one-line text."""
    return f"^{re.escape(message)}$"


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


def test_folded_bias_correction_is_refused_with_nesterov():
    # adam's docstring: scikit-learn's folded form has no Nesterov momentum (nor AMSGrad,
    # which has no fold_bias_correction option to refuse).
    message = (
        "fold_bias_correction: expected False with Nesterov momentum or AMSGrad "
        "(scikit-learn's folded form has neither), received True"
    )
    with pytest.raises(ValueError, match=_whole(message)):
        optim.adam(0.1, nesterov=True, fold_bias_correction=True)


def test_adamw_without_params_is_refused_by_name():
    opt = optim.adamw(0.1)
    grads = {"w": jnp.ones(2)}
    with pytest.raises(
        ValueError, match=r"^params: expected the parameters \(adamw\), received None$"
    ):
        opt.update(grads, opt.init(grads))


# The whole one-line message: argument, what was expected, what was received.
WHOLE_MESSAGES = [
    (
        lambda: optim.sgd(-0.5),
        "learning_rate: expected a real number in (0, inf) or a schedule "
        "(a callable t -> rate), received -0.5",
    ),
    (
        lambda: optim.adam(0.1, mu_dtype="float99"),
        "mu_dtype: expected None or a dtype such as jnp.float32, received float99",
    ),
    (
        lambda: optim.sgd(0.1, weight_decay=0.5).update({"w": jnp.ones(2)}, optim.SgdState(0)),
        "params: expected the parameters (weight_decay is set), received None",
    ),
]


@pytest.mark.parametrize("call", range(len(WHOLE_MESSAGES)))
def test_refusals_give_the_whole_documented_message(call):
    make, message = WHOLE_MESSAGES[call]
    with pytest.raises(ValueError, match=_whole(message)):
        make()


@pytest.mark.parametrize(
    ("name", "arg"),
    [("sgd", "weight_decay"), ("adagrad", "eps"), ("rmsprop", "initial_scale"), ("adam", "eps")],
)
def test_infinite_non_negative_hyperparameters_are_refused(name, arg):
    # Documented ranges are λ, ε, ν₋₁ >= 0 (real numbers); NaN/inf is bad input.
    with pytest.raises(ValueError, match=rf"^{arg}: expected .*received inf"):
        getattr(optim, name)(0.1, **{arg: float("inf")})


# --- optim's registry: what a checkpoint records, and the refusal of unknown names


def test_hyperparameters_record_every_argument_with_schedules_as_text():
    # Docstring: {"factory": "adam", "b1": 0.9, ..., "learning_rate": 0.001}, schedules as
    # text; None for an optimizer that is not nb.optim's. adam's defaults are optax's.
    assert optim.hyperparameters(optim.adam(1e-3, b2=0.99)) == {
        "factory": "adam",
        "b1": 0.9,
        "b2": 0.99,
        "eps": 1e-8,
        "eps_root": 0.0,
        "fold_bias_correction": False,
        "learning_rate": 0.001,
        "mu_dtype": None,
        "nesterov": False,
        "weight_decay": 0.0,
    }
    recorded = optim.hyperparameters(optim.sgd(schedules.power(0.1, 0.75)))
    assert recorded["learning_rate"] == "power(0.1, 0.75, 0)"
    assert optim.hyperparameters(optax.sgd(0.1)) is None


def test_get_names_what_it_takes_and_every_unknown_hyperparameter():
    # "nesterov" is momentum with nesterov=True fixed: that name is not taken again.
    message = (
        "hyperparameters: expected names that 'nesterov' takes (accumulator_dtype, beta, "
        "dampening, learning_rate, lr_in_velocity, weight_decay), received 'nesterov', 'foo'"
    )
    with pytest.raises(ValueError, match=_whole(message)):
        optim.get("nesterov", learning_rate=0.1, nesterov=False, foo=1)
