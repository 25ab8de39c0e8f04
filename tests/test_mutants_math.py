"""Tests that kill the mutants of the second round's mathematical modules (docs/mutation-report.md).

Each pins a documented claim (a docstring equation, a default, DESIGN.md) to a
value computed independently (NumPy, optax, ``jax.grad``), never read back from
the code under test. Each is small and fast: it runs once per mutant. float64.
"""

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import nnbasics as nb
from nnbasics import gradcheck, graph, linear, logistic, newton, optim, schedules

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
        "mu_dtype: expected None or a dtype such as jnp.float32, received 'float99'",
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


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_bfloat16_updates_equal_optax_under_a_float64_schedule(name):
    # Module docstring: the trajectory of the optax namesake, with any schedule t -> α_t.
    # optax casts α_t to each leaf's dtype before scaling; so must we (a float64 product
    # rounded once to bfloat16 is another number in about one update entry in five).
    def rate(count):
        return jnp.asarray(0.05, jnp.float64) / (1.0 + 0.01 * count)

    grads = jnp.asarray(np.random.default_rng(0).normal(size=200), jnp.bfloat16)
    params = jnp.zeros(200, jnp.bfloat16)
    ours, theirs = getattr(optim, name)(rate), getattr(optax, name)(rate)
    state_ours, state_theirs = ours.init(params), theirs.init(params)
    for _ in range(2):
        u_ours, state_ours = ours.update(grads, state_ours, params)
        u_theirs, state_theirs = theirs.update(grads, state_theirs, params)
        assert u_ours.dtype == jnp.bfloat16
        np.testing.assert_array_equal(np.float32(u_ours), np.float32(u_theirs))


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


# --- linear: each refusal's whole message (argument, expected, received)

_X, _Y = jnp.ones((5, 3)), jnp.ones(5)
_ONE = {"w": jnp.ones(3), "b": jnp.array(0.0)}
_TWO = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
LINEAR_REFUSALS = [
    (
        lambda: linear.mse(_ONE, _X[0], _Y),
        "X: expected a 2-D array of shape (n, d), received shape (3,)",
    ),
    (
        lambda: linear.mse({"W": _ONE["w"], "b": _ONE["b"]}, _X, _Y),
        """params: expected a dict with keys "w" and "b", received ['W', 'b']""",
    ),
    (
        lambda: linear.mse({"w": jnp.ones(2), "b": _ONE["b"]}, _X, _Y),
        "params['w']: expected shape (3,) or (3, k) to match X's 3 features, received shape (2,)",
    ),
    (
        lambda: linear.mse({"w": _TWO["w"], "b": jnp.array(0.0)}, _X, _Y),
        "params['b']: expected shape (2,) to match params['w'] (3, 2), received shape ()",
    ),
    (
        lambda: linear.mse(_ONE, _X, _Y[:4]),
        "y: expected shape (5,) or (5, k) to match X's 5 rows, received shape (4,)",
    ),
    (
        lambda: linear.grad(_TWO, _X, _Y),
        "y: expected shape (5, 2) to match params['w'] (3, 2), received shape (5,)",
    ),
]


@pytest.mark.parametrize("call", range(len(LINEAR_REFUSALS)))
def test_linear_refusals_give_the_whole_message(call):
    make, message = LINEAR_REFUSALS[call]
    with pytest.raises(ValueError, match=_whole(message)):
        make()


def test_linear_defaults_to_no_penalty():
    # Docstrings: l2=0.0 by default; J = (1/(2m)) Σ ‖xᵢw + b − yᵢ‖² (the doctest's 0.25).
    X, y = jnp.array([[1.0], [2.0]]), jnp.array([1.0, 3.0])
    params = {"w": jnp.array([1.0]), "b": jnp.array(0.0)}
    assert float(linear.mse(params, X, y)) == 0.25
    g = linear.grad(params, X, y)  # r = (0, −1): Xᵀr/m = −1, mean(r) = −0.5
    assert g["w"].tolist() == [-1.0] and float(g["b"]) == -0.5
    np.testing.assert_allclose(linear.solve(X, y)["w"], [2.0], rtol=1e-12)  # exact fit


def test_linear_solve_keeps_float32_data_float32():
    # float32 is a supported working precision (DESIGN.md's numerics are stated for it;
    # logistic and the optimizers keep float32 float32): solve does not widen it silently.
    X = jnp.asarray([[0.0, 1.0], [2.0, 0.0], [3.0, 5.0], [1.0, 1.0]], jnp.float32)
    y = jnp.asarray([1.0, 0.0, 7.0, 2.0], jnp.float32)
    fitted = linear.solve(X, y, 0.1)
    assert fitted["w"].dtype == fitted["b"].dtype == jnp.float32


# --- logistic

_LOG_X = np.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
_LOG_Y = jnp.array([0, 1, 0, 1, 1])  # overlapping classes: a finite optimum


def test_logistic_keeps_float32_inputs_float32():
    # float32 in, float32 out (the module docstring's float32 claim): no silent float64.
    X = jnp.asarray(_LOG_X, jnp.float32)
    params = {"w": jnp.zeros(1, jnp.float32), "b": jnp.array(0.0, jnp.float32)}
    assert logistic.hessian(params, X, _LOG_Y).dtype == jnp.float32
    assert logistic.newton(params, X, _LOG_Y)["w"].dtype == jnp.float32
    assert logistic.newton_path(params, X, _LOG_Y, steps=2)["b"].dtype == jnp.float32


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (_LOG_Y[:4], "y: expected shape (5,) to match X's 5 rows, received shape (4,)"),
        (_LOG_Y + 1, "y: expected labels in {0, 1}, received values [1, 2]"),
    ],
)
def test_logistic_label_refusals_give_the_whole_message(y, message):
    params = {"w": jnp.zeros(1), "b": jnp.array(0.0)}
    with pytest.raises(ValueError, match=_whole(message)):
        logistic.nll(params, jnp.asarray(_LOG_X), y)


def test_logistic_newton_stops_only_once_the_step_is_below_tol():
    # Docstring: iterate until the step norm ‖H⁻¹∇J‖₂ falls *below* tol. From θ₀ = 0 the
    # first step is θ₁ itself (θ₁ = 0 − Δθ), so tol = ‖θ₁‖ is that step's norm exactly:
    # a step of norm equal to tol does not stop; one just above tol's next float does.
    X, start = jnp.asarray(_LOG_X), {"w": jnp.zeros(1), "b": jnp.array(0.0)}
    first = logistic.newton(start, X, _LOG_Y, steps=1, tol=0.0)
    tol = float(jnp.linalg.norm(jnp.concatenate([first["w"], first["b"][None]])))
    path = logistic.newton_path(start, X, _LOG_Y, steps=2)
    at_tol = logistic.newton(start, X, _LOG_Y, steps=2, tol=tol)
    np.testing.assert_allclose(at_tol["w"], path["w"][2], rtol=1e-12)
    np.testing.assert_allclose(at_tol["b"], path["b"][2], rtol=1e-12)
    above = logistic.newton(start, X, _LOG_Y, steps=2, tol=float(np.nextafter(tol, 1.0)))
    np.testing.assert_array_equal(above["w"], first["w"])


# --- gradcheck


def _sines(params):
    return jnp.sum(jnp.sin(params["a"])) + jnp.sum(params["e"])


def test_report_applies_tiny_to_both_columns_and_reads_empty_leaves_as_zero():
    # report's docstring: tiny is the denominator floor of rel_error (both comparisons);
    # rel_error is 0.0 for leaves without entries, and max |grad| comes from jax.grad.
    params = {"a": jnp.array([0.3, -1.2]), "e": jnp.zeros(0)}
    off = lambda p: (_sines(p), jax.tree.map(lambda g: g + 0.01, jax.grad(_sines)(p)))
    a, e = gradcheck.report(_sines, off, params, tiny=10.0)
    # |a − b| / max(|a| + |b|, 10) = 0.01 / 10 with |cos| ≤ 1 on both sides.
    assert a.manual_vs_auto == pytest.approx(1e-3, rel=1e-12)
    assert a.manual_vs_numerical == pytest.approx(1e-3, rel=1e-6)
    assert a.max_abs_grad == pytest.approx(np.cos(0.3), rel=1e-15)
    assert (e.path, e.shape, e.manual_vs_auto, e.manual_vs_numerical, e.max_abs_grad) == (
        "e",
        (0,),
        0.0,
        0.0,
        0.0,
    )


def test_numerical_grad_warning_says_what_to_do():
    message = (
        "numerical_grad on float32 parameters: central differences keep few correct "
        "digits; enable jax_enable_x64 and use float64"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradcheck.numerical_grad(
            _sines, {"a": jnp.ones(2, jnp.float32), "e": jnp.zeros(0, jnp.float32)}
        )
    assert [str(w.message) for w in caught] == [message]


# --- mlp: each refusal names the argument, the expected and the received value


def _mlp_case():
    net = nb.MLP((2, 3, 2))
    return net, net.init(jax.random.key(0), jnp.float64), np.zeros((4, 2)), np.array([0, 1, 1, 0])


def test_mlp_refusals_name_argument_expected_and_received():
    net, p, X, y = _mlp_case()
    sigmoid = nb.MLP((2, 2), output="sigmoid")
    p_sigmoid = sigmoid.init(jax.random.key(0), jnp.float64)
    cases = [
        (
            lambda: nb.MLP((2, 3, 2), hidden="relu6"),
            "hidden: expected one of 'relu', 'sigmoid', "
            "'tanh', 'linear', 'softplus', 'maxout', received 'relu6'",
        ),
        (
            lambda: net.init(0),
            "key: expected a JAX PRNG key such as jax.random.key(0) or "
            "jax.random.PRNGKey(0), received 0",
        ),
        # a (1,) weight vector would broadcast silently: backprop refuses it as loss does
        (
            lambda: net.backprop(p, X, y, weights=np.ones(1)),
            "weights: expected per-example weights of shape (4,), received shape (1,)",
        ),
        (
            lambda: net.loss(p, X, y, weights=np.ones(5)),
            "weights: expected per-example weights of shape (4,), received shape (5,)",
        ),
        (
            lambda: net.loss({"W": 1}, X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received dict",
        ),
        (
            lambda: net.loss(p[:1], X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received 1 layers",
        ),
        (
            lambda: net.loss(np.zeros((3, 2)), X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received an array of shape (3, 2)",
        ),
        (
            lambda: net.loss([p[0], {"W": p[1]["W"], "b": np.zeros(3)}], X, y),
            "params[1]['b']: expected shape (2,), received shape (3,)",
        ),
        (
            lambda: sigmoid.loss(p_sigmoid, X, np.array([[0.5, 1.0]] * 4)),
            "y: expected 0/1 targets for output 'sigmoid', received values [0.5, 1.0]",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=_whole(message)):
            call()
