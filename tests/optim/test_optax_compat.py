"""nb.optim as optax citizens (float64 is on: tests/conftest.py), exercised the way optax's own alias tests exercise
optax's optimizers: convergence on a parabola and on Rosenbrock in float32 and
complex64, extra arguments, inject_hyperparams, explicit state dtypes, dtype
preservation and stability, gradient accumulation, wrappers; plus complex128
trajectories equal to optax's to 1e-10."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnbasics import optim
from tests._helpers.compiles import count_compilations

# name -> (nb.optim factory kwargs, the optax optimizer it must equal)
OPTIMIZERS = {
    "sgd": (dict(learning_rate=1e-3), lambda: optax.sgd(1e-3)),
    "momentum": (dict(learning_rate=1e-3), lambda: optax.sgd(1e-3, momentum=0.9)),
    "nesterov": (
        dict(learning_rate=1e-3, nesterov=True),
        lambda: optax.sgd(1e-3, momentum=0.9, nesterov=True),
    ),
    "adagrad": (dict(learning_rate=1.0), lambda: optax.adagrad(1.0)),
    "rmsprop": (dict(learning_rate=1e-2), lambda: optax.rmsprop(1e-2)),
    "rmsprop_momentum": (
        dict(learning_rate=1e-2, momentum=0.9, centered=True),
        lambda: optax.rmsprop(1e-2, momentum=0.9, centered=True),
    ),
    "adam": (dict(learning_rate=1e-1), lambda: optax.adam(1e-1)),
    "adamw": (dict(learning_rate=1e-1), lambda: optax.adamw(1e-1)),
    "nadam": (dict(learning_rate=1e-1), lambda: optax.nadam(1e-1)),
    "amsgrad": (dict(learning_rate=1e-1), lambda: optax.amsgrad(1e-1)),
}


# "Equal" in float64 means rtol 1e-10 everywhere (README, docs/optimizers.md).
EQUAL = dict(rtol=1e-10, atol=0)


def factory_and_kwargs(name):
    kwargs, _ = OPTIMIZERS[name]
    factory = {"nesterov": "momentum", "rmsprop_momentum": "rmsprop"}.get(name, name)
    return getattr(optim, factory), kwargs


def build(name):
    factory, kwargs = factory_and_kwargs(name)
    return factory(**kwargs)


def abs_sq(x):
    return (x.conj() * x).real


def parabola(dtype):
    initial = jnp.array([-1.0, 10.0, 1.0], dtype=dtype)
    final = jnp.array([1.0, -1.0, 1.0], dtype=dtype)
    if jnp.iscomplexobj(initial):
        final = final * (1 + 1j)
    return initial, final, lambda p: jnp.sum(abs_sq(p - final))


def rosenbrock(dtype):
    a, b = 1.0, 100.0
    if jnp.issubdtype(dtype, jnp.complexfloating):
        a *= 1 + 1j
    initial = jnp.array([0.0, 0.0], dtype=dtype)
    final = jnp.array([a, a**2], dtype=dtype)
    return initial, final, lambda p: abs_sq(a - p[0]) + b * abs_sq(p[1] - p[0] ** 2)


def make_step(opt, objective, **update_kwargs):
    @jax.jit
    def step(params, state):
        grads = jax.grad(objective)(params)
        grads = jax.tree.map(jnp.conj, grads)  # a complex step descends along conj(∂f/∂z)
        updates, state = opt.update(grads, state, params, **update_kwargs)
        return optax.apply_updates(params, updates), state

    return step


# The optimizers whose step on these problems is too small for 10,000 steps
# (as in optax's own suite, plain SGD at 1e-3 is left out of the convergence check).
CONVERGING = [n for n in OPTIMIZERS if n not in ("sgd", "momentum", "nesterov")]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64])
@pytest.mark.parametrize("target", [parabola, rosenbrock])
@pytest.mark.parametrize("name", CONVERGING)
def test_optimization_converges_without_recompiling(name, target, dtype):
    opt = build(name)
    params, final, objective = target(dtype)
    state = optax.tree.map_params(opt, lambda v: v, opt.init(params))  # a no-op map
    step = make_step(opt, objective)
    params, state = step(params, state)
    with count_compilations() as c:
        params, state = step(params, state)
    assert c.count == 0, "recompiled on the second call"
    run = jax.jit(lambda p, s: jax.lax.fori_loop(0, 9998, lambda _, c: step(*c), (p, s)))
    params, _ = run(params, state)
    chex.assert_trees_all_close(params, final, rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_complex128_trajectory_equals_optax(name):
    _, theirs = OPTIMIZERS[name]
    params, _, objective = rosenbrock(jnp.complex128)
    params = params + jnp.array([0.3 - 0.2j, -0.1 + 0.4j])
    trajectories = []
    for opt in (build(name), theirs()):
        step = make_step(opt, objective)
        run = jax.jit(
            lambda p, step=step, opt=opt: jax.lax.scan(
                lambda c, _: (step(*c), step(*c)[0]), (p, opt.init(p)), None, length=300
            )[1]
        )
        trajectories.append(np.asarray(run(params)))
    assert trajectories[0].dtype == np.complex128
    np.testing.assert_allclose(trajectories[0], trajectories[1], rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_extra_arguments_are_accepted(name):
    opt = build(name)
    params, _, objective = rosenbrock(jnp.float32)
    step = make_step(opt, objective, value=jnp.float32(0.0), unexpected_extra_args=1)
    state = opt.init(params)
    for _ in range(2):
        params, state = step(params, state)
    chex.assert_tree_all_finite(params)
    assert isinstance(opt, optax.GradientTransformationExtraArgs)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_inject_hyperparams_equals_the_plain_optimizer(name):
    factory, kwargs = factory_and_kwargs(name)
    opt = factory(**kwargs)
    injected = optax.inject_hyperparams(factory)(**kwargs)
    numeric = [k for k, v in injected.init(jnp.zeros(2)).hyperparams.items()]
    assert "learning_rate" in numeric
    params = [-jnp.ones((2, 3)), jnp.ones((2, 5, 2))]
    grads = [jnp.ones((2, 3)), -jnp.ones((2, 5, 2))]
    state = jax.jit(opt.init)(params)
    state_i = jax.jit(injected.init)(params)
    for _ in range(3):
        updates, state = jax.jit(opt.update)(grads, state, params)
        updates_i, state_i = jax.jit(injected.update)(grads, state_i, params)
        chex.assert_trees_all_close(updates_i, updates, rtol=1e-10, atol=0)
        chex.assert_trees_all_close(state_i.inner_state, state, rtol=1e-10, atol=0)


@pytest.mark.parametrize("state_dtype", ["bfloat16", "float32", "complex64", None])
@pytest.mark.parametrize("params_dtype", ["bfloat16", "float32", "complex64", None])
@pytest.mark.parametrize("name", ["momentum", "adam", "adamw", "nadam", "amsgrad"])
def test_explicit_state_dtype(name, params_dtype, state_dtype):
    if name == "momentum":
        opt, field = optim.momentum(0.1, 0.9, accumulator_dtype=state_dtype), "trace"
    else:
        opt, field = getattr(optim, name)(0.1, mu_dtype=state_dtype), "mu"
    params_dtype = jax.dtypes.canonicalize_dtype(params_dtype)
    params = jnp.array([0.0, 0.0], dtype=params_dtype)
    state = opt.init(params)
    expected = params_dtype if state_dtype is None else jax.dtypes.canonicalize_dtype(state_dtype)
    assert getattr(state, field).dtype == expected
    if not (jnp.iscomplexobj(params) and not jnp.iscomplexobj(getattr(state, field))):
        _, new = opt.update(jnp.ones_like(params), state, params)
        chex.assert_trees_all_equal_dtypes(new, state)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_keep_the_gradients_dtype(name, dtype):
    opt = build(name)
    params = jnp.array([1.0, 2.0], dtype=dtype)
    grads = jax.grad(lambda x: jnp.sum(x**2))(params)
    updates, _ = jax.jit(opt.update)(grads, jax.jit(opt.init)(params), params)
    assert updates.dtype == grads.dtype


@pytest.mark.parametrize(
    "dtype", [jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64, jnp.complex64, jnp.complex128]
)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_is_shape_and_dtype_stable_under_cond(name, dtype):
    opt = build(name)
    params, _, objective = parabola(dtype)

    @jax.jit
    def step(params, state):
        grads = jax.tree.map(jnp.conj, jax.grad(objective)(params))
        cond = jax.random.randint(jax.random.key(0), (), 0, 2) == 0
        updates, state = jax.lax.cond(
            cond, lambda: opt.update(grads, state, params), lambda: (params, state)
        )
        return optax.apply_updates(params, updates), state

    state = opt.init(params)
    for _ in range(2):
        params, new = step(params, state)
        assert params.dtype == dtype
        chex.assert_trees_all_equal_shapes_and_dtypes(new, state)
        state = new


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_gradient_accumulation_with_multisteps(name, dtype):
    opt = optax.MultiSteps(build(name), every_k_schedule=4)
    params = jnp.array([1.0, 2.0], dtype=dtype)
    grads = jax.grad(lambda x: jnp.sum(x**2))(params)
    state = jax.jit(opt.init)(params)
    update = jax.jit(opt.update)
    for k in range(4):
        updates, state = update(grads, state, params)
        if k < 3:
            chex.assert_trees_all_equal(updates, jnp.zeros_like(grads))
    assert np.all(np.asarray(updates, np.float32) != 0)  # the 4th step applies the mean


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_works_inside_optax_wrappers(name):
    params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([0.5])}
    grads = {"w": jnp.array([0.1, 0.2]), "b": jnp.array([0.3])}
    opt = build(name)
    plain, _ = opt.update(grads, opt.init(params), params)

    chained = optax.chain(optax.identity(), opt)
    chex.assert_trees_all_close(
        chained.update(grads, chained.init(params), params)[0], plain, **EQUAL
    )

    finite = optax.apply_if_finite(opt, max_consecutive_errors=2)
    chex.assert_trees_all_close(
        finite.update(grads, finite.init(params), params)[0], plain, **EQUAL
    )
    bad = {"w": jnp.array([jnp.nan, 0.0]), "b": jnp.array([0.0])}
    skipped, _ = finite.update(bad, finite.init(params), params)
    chex.assert_trees_all_equal(skipped, jax.tree.map(jnp.zeros_like, params))

    masked = optax.masked(opt, {"w": True, "b": False})
    m_updates, _ = masked.update(grads, masked.init(params), params)
    chex.assert_trees_all_close(m_updates["w"], plain["w"], **EQUAL)
    chex.assert_trees_all_equal(m_updates["b"], grads["b"])  # unmasked leaves pass through

    multi = optax.multi_transform(
        {"opt": opt, "zero": optax.set_to_zero()}, {"w": "opt", "b": "zero"}
    )
    t_updates, _ = multi.update(grads, multi.init(params), params)
    chex.assert_trees_all_close(t_updates["w"], plain["w"], **EQUAL)
    chex.assert_trees_all_equal(t_updates["b"], jnp.zeros(1))


def test_nadam_and_amsgrad_registered_variants_equal_optax_in_float64():
    """The two new Adam variants over 300 steps with gradients down to 1e-6."""
    rng = np.random.default_rng(0)
    grads = jnp.asarray(np.logspace(-6, 1, 5) * (rng.standard_normal((300, 5)) + 0.3))
    params = jnp.asarray(rng.standard_normal(5))
    for ours, theirs in (
        (optim.nadam(0.05, 0.8, 0.99, 1e-7), optax.nadam(0.05, 0.8, 0.99, 1e-7)),
        (optim.amsgrad(0.05, eps_root=1e-9), optax.amsgrad(0.05, eps_root=1e-9)),
        (
            optim.amsgrad(0.05, bias_correction_mu=False, bias_correction_nu=False),
            optax.amsgrad(0.05, bias_correction_mu=False, bias_correction_nu=False),
        ),
    ):
        out = []
        for opt in (ours, theirs):

            def body(c, g, opt=opt):
                p, s = c
                u, s = opt.update(g, s, p)
                p = optax.apply_updates(p, u)
                return (p, s), p

            out.append(np.asarray(jax.lax.scan(body, (params, opt.init(params)), grads)[1]))
        np.testing.assert_allclose(out[0], out[1], rtol=1e-10, atol=0)
