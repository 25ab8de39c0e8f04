"""nadam and amsgrad against optax, real float64, step by step.

Each trajectory runs 400 steps from the same start on gradients whose scales span
1e-6 to 10 (several coordinates stay below 1e-4, where ε and ε_root matter), and
every step's parameters must equal optax's to rtol 1e-10.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnbasics import optim

STEPS = 400
RTOL = 1e-10

# (name, ours, optax's): the defaults and every option the two factories share with optax
CASES = [
    ("nadam", lambda: optim.nadam(0.05), lambda: optax.nadam(0.05)),
    (
        "nadam-options",
        lambda: optim.nadam(0.02, b1=0.8, b2=0.99, eps=1e-7, eps_root=1e-10),
        lambda: optax.nadam(0.02, b1=0.8, b2=0.99, eps=1e-7, eps_root=1e-10),
    ),
    ("amsgrad", lambda: optim.amsgrad(0.05), lambda: optax.amsgrad(0.05)),
    (
        "amsgrad-options",
        lambda: optim.amsgrad(0.02, b1=0.7, b2=0.95, eps=1e-7, eps_root=1e-9),
        lambda: optax.amsgrad(0.02, b1=0.7, b2=0.95, eps=1e-7, eps_root=1e-9),
    ),
    (
        "amsgrad-uncorrected",
        lambda: optim.amsgrad(0.05, bias_correction_mu=False, bias_correction_nu=False),
        lambda: optax.amsgrad(0.05, bias_correction_mu=False, bias_correction_nu=False),
    ),
]


def _gradients():
    """(STEPS, 6) gradients: per-coordinate scales 1e-6 ... 10, signs that change, a drift."""
    rng = np.random.default_rng(7)
    scales = np.array([1e-6, 1e-5, 1e-4, 1e-2, 1.0, 10.0])
    noise = rng.standard_normal((STEPS, scales.size)) + 0.3
    # a late burst then a lull: nu's maximum (amsgrad) must outlive the burst
    noise[150:170] *= 20.0
    noise[170:260] *= 0.05
    return jnp.asarray(noise * scales)


def _trajectory(opt, params, grads):
    """Every step's parameters, (STEPS, d), under ``opt`` fed the fixed gradients."""

    def step(carry, g):
        p, state = carry
        updates, state = opt.update(g, state, p)
        p = optax.apply_updates(p, updates)
        return (p, state), p

    return np.asarray(jax.lax.scan(step, (params, opt.init(params)), grads)[1])


@pytest.mark.parametrize(("name", "ours", "theirs"), CASES, ids=[c[0] for c in CASES])
def test_float64_trajectory_equals_optax(name, ours, theirs):
    grads = _gradients()
    params = jnp.asarray(np.linspace(-1.0, 1.0, grads.shape[1]))
    assert params.dtype == jnp.float64 and grads.dtype == jnp.float64
    mine = _trajectory(ours(), params, grads)
    reference = _trajectory(theirs(), params, grads)
    moved = np.abs(reference - np.asarray(params))
    assert moved[:, :3].max() > 1e-3  # the tiny-gradient coordinates do move (Adam's scaling)
    np.testing.assert_allclose(mine, reference, rtol=RTOL, atol=0)
