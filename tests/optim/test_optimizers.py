"""nnbasics.optim against optax, the course's formulas and stored PyTorch /
scikit-learn trajectories (tests/optim/golden, written by
benchmarks/golden_trajectories.py), all in float64."""

import inspect
import json
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import nnbasics as nb
from nnbasics import optim, schedules
from tests._helpers.messages import whole

STEPS = 300


RTOL = 1e-10


GOLDEN = Path(__file__).parent / "golden"


def _gradients(steps, dim, seed=0):
    """(steps, dim) gradients with per-coordinate magnitudes from 1e-6 to 10."""
    rng = np.random.default_rng(seed)
    grads = np.logspace(-6, 1, dim) * (rng.standard_normal((steps, dim)) + 0.3)
    grads[:3, 1] = 0.0
    return grads


PARAMS = {
    "W": jnp.asarray(np.random.default_rng(1).standard_normal((2, 3))),
    "b": jnp.asarray(np.random.default_rng(2).standard_normal(3)),
}


GRADS = jnp.asarray(_gradients(STEPS, 9))


def trajectory(opt, params, grads):
    """Flat parameters after each update, the update jitted once and scanned."""
    _, unravel = ravel_pytree(params)

    def body(carry, g):
        p, state = carry
        updates, state = opt.update(unravel(g), state, p)
        p = optax.apply_updates(p, updates)
        return (p, state), ravel_pytree(p)[0]

    run = jax.jit(lambda p: jax.lax.scan(body, (p, opt.init(p)), grads)[1])
    return np.asarray(run(params))


def assert_same(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ------------------------------------------------------------------ vs optax

NB_SCHEDULE = schedules.inverse_time(0.05, 0.01, hold=20)


OPTAX_SCHEDULE = optax.exponential_decay(0.05, transition_steps=50, decay_rate=0.5)

VS_OPTAX = {
    "sgd": (lambda lr: optim.sgd(lr), lambda lr: optax.sgd(lr)),
    "momentum": (lambda lr: optim.momentum(lr), lambda lr: optax.sgd(lr, momentum=0.9)),
    "nesterov": (
        lambda lr: optim.momentum(lr, beta=0.7, nesterov=True),
        lambda lr: optax.sgd(lr, momentum=0.7, nesterov=True),
    ),
    "adagrad": (lambda lr: optim.adagrad(lr), lambda lr: optax.adagrad(lr)),
    "adagrad_zero_init": (
        lambda lr: optim.adagrad(lr, 0.0, 1e-10),
        lambda lr: optax.adagrad(lr, 0.0, 1e-10),
    ),
    "rmsprop": (lambda lr: optim.rmsprop(lr), lambda lr: optax.rmsprop(lr)),
    "rmsprop_options": (
        lambda lr: optim.rmsprop(
            lr,
            0.99,
            1e-6,
            eps_in_sqrt=False,
            initial_scale=0.1,
            centered=True,
            momentum=0.5,
            nesterov=True,
        ),
        lambda lr: optax.rmsprop(
            lr,
            0.99,
            1e-6,
            eps_in_sqrt=False,
            initial_scale=0.1,
            centered=True,
            momentum=0.5,
            nesterov=True,
        ),
    ),
    "adam": (lambda lr: optim.adam(lr), lambda lr: optax.adam(lr)),
    "adam_eps_root": (
        lambda lr: optim.adam(lr, 0.8, 0.99, 0.0, 1e-8),
        lambda lr: optax.adam(lr, 0.8, 0.99, 0.0, 1e-8),
    ),
    "adamw": (lambda lr: optim.adamw(lr), lambda lr: optax.adamw(lr)),
    "adamw_options": (
        lambda lr: optim.adamw(lr, 0.85, 0.995, 1e-7, 1e-12, weight_decay=0.1),
        lambda lr: optax.adamw(lr, 0.85, 0.995, 1e-7, 1e-12, weight_decay=0.1),
    ),
}


RATES = {"float": 0.05, "nb_schedule": NB_SCHEDULE, "optax_schedule": OPTAX_SCHEDULE}


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", VS_OPTAX)
def test_same_trajectory_as_optax(name, rate):
    ours, theirs = VS_OPTAX[name]
    lr = RATES[rate]
    assert_same(trajectory(ours(lr), PARAMS, GRADS), trajectory(theirs(lr), PARAMS, GRADS))


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_same_defaults_as_optax(name):
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(optax, "sgd" if name == "momentum" else name)).parameters
    shared = [k for k in ours if k in theirs]
    assert shared[0] == "learning_rate"
    for k in shared:
        assert ours[k].default == theirs[k].default, k
    if name == "momentum":
        assert ours["beta"].default == 0.9 and ours["nesterov"].default is False


@pytest.mark.parametrize("name", ["sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_state_and_eager_update(name):
    opt = getattr(optim, name)(0.1)
    state = opt.init(PARAMS)
    assert isinstance(state, tuple) and hasattr(state, "_fields") and state._fields[0] == "count"
    assert state.count.dtype == jnp.int32 and int(state.count) == 0
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    eager, s1 = opt.update(grads, state, PARAMS)
    jitted, s2 = jax.jit(opt.update)(grads, state, PARAMS)
    assert int(s1.count) == int(s2.count) == 1
    chex.assert_trees_all_close(eager, jitted, rtol=RTOL, atol=0)


@pytest.mark.parametrize("name", ["momentum", "adagrad", "rmsprop", "adam", "adamw"])
def test_float32_stays_float32(name):
    params = jax.tree.map(lambda x: x.astype(jnp.float32), PARAMS)
    opt = getattr(optim, name)(schedules.power(0.1, 0.75))
    updates, state = opt.update(params, opt.init(params), params)
    for leaf in jax.tree.leaves((updates, state[1:])):
        assert leaf.dtype == jnp.float32


# ------------------------------------------------------- the course's Adam


def test_course_adam_formula():
    """θ ← θ − η ṽ_t/√(g̃_t + ε), ṽ_t = v_t/(1 − γ^t), g̃_t = ĝ_t/(1 − β^t)."""
    eta, gamma, beta, eps = 0.01, 0.9, 0.999, 1e-8
    grads = np.asarray(GRADS)
    theta = np.asarray(ravel_pytree(PARAMS)[0]).copy()
    v = np.zeros_like(theta)
    g_hat = np.zeros_like(theta)
    expected = []
    for t, g in enumerate(grads, start=1):
        v = gamma * v + (1 - gamma) * g
        g_hat = beta * g_hat + (1 - beta) * g**2
        theta = theta - eta * (v / (1 - gamma**t)) / np.sqrt(g_hat / (1 - beta**t) + eps)
        expected.append(theta)
    ours = trajectory(optim.adam(eta, b1=gamma, b2=beta, eps=0.0, eps_root=eps), PARAMS, GRADS)
    assert_same(ours, np.stack(expected))


def from_torch(optimizer, kw):
    """The nnbasics optimizer that reproduces ``torch.optim.<optimizer>(**kw)``."""
    lr, wd = kw["lr"], kw.get("weight_decay", 0.0)
    if optimizer == "SGD":
        if kw.get("momentum", 0.0) == 0.0:
            return optim.sgd(lr, weight_decay=wd)
        return optim.momentum(
            lr,
            kw["momentum"],
            kw.get("nesterov", False),
            dampening=kw.get("dampening", 0.0),
            weight_decay=wd,
        )
    if optimizer == "Adagrad":
        rate = schedules.inverse_time(lr, kw["lr_decay"]) if kw.get("lr_decay") else lr
        return optim.adagrad(
            rate,
            kw.get("initial_accumulator_value", 0.0),
            kw.get("eps", 1e-10),
            eps_in_sqrt=False,
            weight_decay=wd,
        )
    if optimizer == "RMSprop":
        return optim.rmsprop(
            lr,
            kw.get("alpha", 0.99),
            kw.get("eps", 1e-8),
            eps_in_sqrt=False,
            centered=kw.get("centered", False),
            momentum=kw.get("momentum") or None,
            weight_decay=wd,
        )
    b1, b2 = kw.get("betas", (0.9, 0.999))
    if optimizer == "Adam":
        return optim.adam(lr, b1, b2, kw.get("eps", 1e-8), weight_decay=wd)
    if optimizer == "AdamW":
        return optim.adamw(
            lr, b1, b2, kw.get("eps", 1e-8), weight_decay=kw.get("weight_decay", 1e-2)
        )
    raise NotImplementedError(optimizer)


def from_sklearn(optimizer, kw):
    """The nnbasics optimizer that reproduces scikit-learn's MLP ``<optimizer>(**kw)``."""
    if optimizer == "SGDOptimizer":
        lr = kw.get("learning_rate_init", 0.1)
        if kw.get("lr_schedule", "constant") == "invscaling":
            lr = schedules.power(lr, kw.get("power_t", 0.5))
        return optim.momentum(
            lr, kw.get("momentum", 0.9), kw.get("nesterov", True), lr_in_velocity=True
        )
    if optimizer == "AdamOptimizer":
        return optim.adam(
            kw.get("learning_rate_init", 0.001),
            kw.get("beta_1", 0.9),
            kw.get("beta_2", 0.999),
            kw.get("epsilon", 1e-8),
            fold_bias_correction=True,
        )
    raise NotImplementedError(optimizer)


GOLDEN_FILES = sorted(GOLDEN.glob("*.npz"))


def test_golden_files_present():
    libraries = {json.loads(str(np.load(f)["config"]))["library"] for f in GOLDEN_FILES}
    assert len(GOLDEN_FILES) >= 19 and libraries == {"torch", "sklearn"}


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_matches_golden_trajectory(path):
    data = np.load(path)
    config = json.loads(str(data["config"]))
    build = {"torch": from_torch, "sklearn": from_sklearn}[config["library"]]
    opt = build(config["optimizer"], config["kwargs"])
    golden = data["params"]
    grads = jnp.asarray(data["grads"])
    assert golden.dtype == np.float64 and grads.shape == (config["steps"], config["dim"])
    ours = trajectory(opt, jnp.asarray(golden[0]), grads)
    assert_same(ours, golden[1:])


def test_sklearn_conventions_differ_from_optax_defaults():
    """The options matter: without them the stored trajectories are not reproduced."""
    data = np.load(GOLDEN / "sklearn_adam_options.npz")
    golden, grads = data["params"], jnp.asarray(data["grads"])
    plain = trajectory(optim.adam(0.01, 0.8, 0.99, 1e-6), jnp.asarray(golden[0]), grads)
    assert not np.allclose(plain, golden[1:], rtol=1e-6, atol=0)
    data = np.load(GOLDEN / "sklearn_sgd_invscaling.npz")
    golden, grads = data["params"], jnp.asarray(data["grads"])
    plain = trajectory(
        optim.momentum(schedules.power(0.1, 0.75), 0.8, True), jnp.asarray(golden[0]), grads
    )
    assert not np.allclose(plain, golden[1:], rtol=1e-6, atol=0)


# ------------------------------------------------------------ weight decay


def _nll(theta, X, y):
    """Mean logistic NLL of a linear model, from logits."""
    z = X @ theta
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z)


def test_weight_decay_identity():
    """A step on NLL + (λ/2)‖θ‖² is θ ← (1 − ηλ)θ − η∇NLL (the course's weight decay)."""
    rng = np.random.default_rng(3)
    X = jnp.asarray(rng.standard_normal((40, 5)))
    y = jnp.asarray(rng.integers(0, 2, 40), dtype=jnp.float64)
    eta, lam = 0.3, 0.05
    grad_nll = jax.jit(jax.grad(lambda th: _nll(th, X, y)))
    grad_penalized = jax.jit(jax.grad(lambda th: _nll(th, X, y) + lam / 2 * jnp.sum(th**2)))
    opt = optim.sgd(eta, weight_decay=lam)
    update = jax.jit(opt.update)
    theta = jnp.asarray(rng.standard_normal(5))
    ours, state = theta, opt.init(theta)
    for _ in range(20):
        by_penalty = theta - eta * grad_penalized(theta)
        by_decay = (1 - eta * lam) * theta - eta * grad_nll(theta)
        assert_same(by_penalty, by_decay, rtol=1e-13)
        updates, state = update(grad_nll(ours), state, ours)
        ours = optax.apply_updates(ours, updates)
        theta = by_decay
        assert_same(ours, theta, rtol=1e-13)


# ------------------------------------------------------------- bad input

BAD = [
    (optim.sgd, dict(learning_rate=-0.1), "learning_rate"),
    (optim.sgd, dict(learning_rate=0.0), "learning_rate"),
    (optim.sgd, dict(learning_rate=float("nan")), "learning_rate"),
    (optim.sgd, dict(learning_rate="fast"), "learning_rate"),
    (optim.sgd, dict(learning_rate=None), "learning_rate"),
    (optim.sgd, dict(learning_rate=0.1, weight_decay=-1.0), "weight_decay"),
    (optim.momentum, dict(learning_rate=0.1, beta=1.0), "beta"),
    (optim.momentum, dict(learning_rate=0.1, beta=-0.1), "beta"),
    (optim.momentum, dict(learning_rate=0.1, dampening=1.5), "dampening"),
    (optim.momentum, dict(learning_rate=0.1, nesterov="yes"), "nesterov"),
    (optim.adagrad, dict(learning_rate=0.1, eps=-1e-7), "eps"),
    (
        optim.adagrad,
        dict(learning_rate=0.1, initial_accumulator_value=-1.0),
        "initial_accumulator_value",
    ),
    (optim.rmsprop, dict(learning_rate=0.1, decay=1.0), "decay"),
    (optim.rmsprop, dict(learning_rate=0.1, momentum=1.0), "momentum"),
    (optim.rmsprop, dict(learning_rate=0.1, eps=-1.0), "eps"),
    (optim.adam, dict(learning_rate=0.1, b1=1.0), "b1"),
    (optim.adam, dict(learning_rate=0.1, b2=-0.5), "b2"),
    (optim.adam, dict(learning_rate=0.1, eps=-1e-8), "eps"),
    (optim.adam, dict(learning_rate=0.1, eps_root=-1e-8), "eps_root"),
    (optim.adamw, dict(learning_rate=0.1, weight_decay=-1e-4), "weight_decay"),
    (optim.adamw, dict(learning_rate=-1.0), "learning_rate"),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "name"), BAD, ids=lambda x: getattr(x, "__name__", None)
)
def test_bad_input_rejected_at_construction(make, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: expected .*received"):
        make(**kwargs)


def test_learning_rate_message_names_range_and_schedules():
    with pytest.raises(ValueError, match=r"\(0, inf\) or a schedule"):
        optim.adam(-1e-3)


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
    with pytest.raises(ValueError, match=whole(message)):
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


# --- optimizers equal by value


def test_optimizers_built_alike_are_equal():
    assert nb.optim.adam(1e-3) == nb.optim.adam(1e-3)
    assert hash(nb.optim.adam(1e-3)) == hash(nb.optim.adam(1e-3))
    assert nb.optim.adam(1e-3) != nb.optim.adam(2e-3)
    assert nb.optim.adam(1e-3) != nb.optim.adamw(1e-3)
    assert nb.optim.momentum(0.1, nesterov=True) != nb.optim.momentum(0.1)
    schedule = lambda: nb.schedules.inverse_time(0.1, 1e-3, hold=5)
    assert schedule() == schedule() and nb.optim.sgd(schedule()) == nb.optim.sgd(schedule())
    assert nb.schedules.power(0.1, 0.75) != nb.schedules.power(0.1, 0.8)
