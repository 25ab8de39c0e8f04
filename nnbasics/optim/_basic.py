"""SGD, momentum, AdaGrad and RMSProp: part of ``nnbasics.optim`` (re-exported there)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from nnbasics import _checks
from nnbasics.optim._core import (
    ScalarOrSchedule,
    _abs_sq,
    _dtype,
    _ema,
    _flag,
    _inverse_root,
    _non_negative,
    _optimizer,
    _scale,
    _square,
    _trace,
    _unit,
)
from nnbasics.optim._recipes import _recorded

__all__ = [
    "AdagradState",
    "MomentumState",
    "RmspropState",
    "SgdState",
    "adagrad",
    "momentum",
    "rmsprop",
    "sgd",
]


class SgdState(NamedTuple):
    """State of ``sgd``: the number of updates made so far.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = sgd(0.1).init({"w": jnp.zeros(2)})
      >>> type(state).__name__, int(state.count)
      ('SgdState', 0)
    """

    count: jnp.ndarray  # () int32, updates made so far


class MomentumState(NamedTuple):
    """State of ``momentum``: the update count and the trace m_t.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = momentum(0.1).init({"w": jnp.zeros(2)})
      >>> int(state.count), state.trace["w"].tolist()
      (0, [0.0, 0.0])
    """

    count: jnp.ndarray
    trace: Any  # m_t (the velocity v_t with lr_in_velocity=True)


class AdagradState(NamedTuple):
    """State of ``adagrad``: the update count and the sum of squared gradients s_t.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = adagrad(0.1).init({"w": jnp.zeros(2)})
      >>> state.sum_of_squares["w"].tolist()  # starts at initial_accumulator_value
      [0.1, 0.1]
    """

    count: jnp.ndarray
    sum_of_squares: Any  # s_t


class RmspropState(NamedTuple):
    """State of ``rmsprop``: the count, the EMA of g², and (when enabled) the EMA of g and a momentum trace.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = rmsprop(0.1).init({"w": jnp.zeros(2)})
      >>> state.nu["w"].tolist(), state.mu, state.trace
      ([0.0, 0.0], None, None)
    """

    count: jnp.ndarray
    nu: Any  # EMA of g²
    mu: Any  # EMA of g when centered, else None
    trace: Any  # momentum trace when momentum is set, else None


# ---------------------------------------------------------------- optimizers


@_recorded
def sgd(
    learning_rate: ScalarOrSchedule, *, weight_decay: float = 0.0, accumulator_dtype=None
) -> optax.GradientTransformation:
    """Plain (stochastic) gradient descent.

        u_t = −α_t·(g_t + λθ_t)

    Reproduces ``optax.sgd(lr)`` and ``torch.optim.SGD(lr, weight_decay=λ)``.

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      weight_decay: λ >= 0, coupled (the gradient of (λ/2)‖θ‖²).
      accumulator_dtype: accepted for ``optax.sgd`` parity; plain SGD keeps
        no accumulator (see ``momentum``).

    Returns:
      An ``optax.GradientTransformation`` with state ``SgdState(count)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = sgd(0.1)
      >>> params = {"w": jnp.array([1.0, -2.0])}
      >>> updates, state = opt.update({"w": jnp.array([1.0, 3.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # −α g
      [-0.1, -0.3]
    """
    _dtype("accumulator_dtype", accumulator_dtype)
    return _optimizer(
        SgdState,
        lambda params: (),
        lambda g, moments, count, rate, params: (_scale(-rate, g), ()),
        learning_rate,
        weight_decay,
    )


@_recorded
def momentum(
    learning_rate: ScalarOrSchedule,
    beta: float = 0.9,
    nesterov: bool = False,
    accumulator_dtype=None,
    *,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    lr_in_velocity: bool = False,
) -> optax.GradientTransformation:
    """Gradient descent with (heavy-ball or Nesterov) momentum.

    With g_t ← g_t + λθ_t and m_{−1} = 0, the default (optax, PyTorch) form is

        m_t = β·m_{t−1} + c_t·g_t,       c_0 = 1, c_t = 1 − dampening (t ≥ 1)
        u_t = −α_t·m_t                   (nesterov=False)
        u_t = −α_t·(g_t + β·m_t)         (nesterov=True)

    which is the course's ∇̄_t = ∇_t + β∇̄_{t−1}. With ``lr_in_velocity=True`` the
    trace holds the learning rate, as scikit-learn's MLP SGD does:

        v_t = β·v_{t−1} − c_t·α_t·g_t,   u_t = v_t  or  u_t = β·v_t − α_t·g_t

    The two forms are equal for a constant rate and differ under a schedule.

    Reproduces ``optax.sgd(lr, momentum=beta, nesterov=...)`` (defaults),
    ``torch.optim.SGD(lr, momentum, dampening, weight_decay, nesterov)``
    (``dampening``, ``weight_decay``; PyTorch leaves the first step undamped as
    here), and scikit-learn's ``SGDOptimizer`` (``lr_in_velocity=True``).

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      beta: momentum β in [0, 1).
      nesterov: Nesterov's look-ahead form.
      accumulator_dtype: dtype of the trace (None: the parameters'), as optax's.
      dampening: in [0, 1]; scales the gradient entering the trace after step 0.
      weight_decay: λ >= 0, coupled.
      lr_in_velocity: multiply by α_t before the trace (scikit-learn) rather
        than after it (optax, PyTorch).

    Returns:
      An ``optax.GradientTransformation`` with state ``MomentumState(count, trace)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = momentum(0.1, beta=0.9)
      >>> params, g = {"w": jnp.array([0.0])}, {"w": jnp.array([1.0])}
      >>> state = opt.init(params)
      >>> u1, state = opt.update(g, state, params)
      >>> u2, state = opt.update(g, state, params)
      >>> u1["w"].tolist(), u2["w"].tolist()  # −α·1, then −α·(1 + 0.9)
      ([-0.1], [-0.19])
    """
    beta = _unit("beta", beta)
    nesterov = _flag("nesterov", nesterov)
    dampening = _checks.real_in("dampening", dampening, 0.0, 1.0)
    lr_in_velocity = _flag("lr_in_velocity", lr_in_velocity)
    accumulator_dtype = _dtype("accumulator_dtype", accumulator_dtype)

    def step(g, moments, count, rate, params):
        x = _scale(-rate, g) if lr_in_velocity else g
        weight = jnp.where(count == 0, 1.0, 1.0 - dampening)
        out, trace = _trace(x, moments[0], beta, nesterov, weight)
        return (out if lr_in_velocity else _scale(-rate, out)), (trace,)

    return _optimizer(
        MomentumState,
        lambda params: (optax.tree.zeros_like(params, dtype=accumulator_dtype),),
        step,
        learning_rate,
        weight_decay,
    )


@_recorded
def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: float = 0.1,
    eps: float = 1e-7,
    *,
    eps_in_sqrt: bool = True,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """AdaGrad: per-coordinate rates from the sum of all squared gradients.

    With g_t ← g_t + λθ_t and s_{−1} = initial_accumulator_value,

        s_t = s_{t−1} + g_t²
        u_t = −α_t·g_t / √(s_t + ε)       (eps_in_sqrt=True, optax)
        u_t = −α_t·g_t / (√s_t + ε)       (eps_in_sqrt=False, PyTorch)

    and u_t = 0 where s_t = 0. Reproduces ``optax.adagrad`` (defaults) and
    ``torch.optim.Adagrad`` with ``initial_accumulator_value=0, eps=1e-10,
    eps_in_sqrt=False``; PyTorch's ``lr_decay=k`` is the learning rate
    ``schedules.inverse_time(lr, k)``.

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      initial_accumulator_value: s_{−1} >= 0.
      eps: ε >= 0.
      eps_in_sqrt: add ε inside the square root (optax) or outside (PyTorch).
      weight_decay: λ >= 0, coupled.

    Returns:
      An ``optax.GradientTransformation`` with state
      ``AdagradState(count, sum_of_squares)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
      >>> params = {"w": jnp.array([0.0, 0.0])}
      >>> updates, _ = opt.update({"w": jnp.array([2.0, -0.5])}, opt.init(params), params)
      >>> updates["w"].tolist()  # −g / √(g²): one unit step per coordinate
      [-1.0, 1.0]
    """
    initial_accumulator_value = _non_negative(
        "initial_accumulator_value", initial_accumulator_value
    )
    eps = _non_negative("eps", eps)
    eps_in_sqrt = _flag("eps_in_sqrt", eps_in_sqrt)

    def step(g, moments, count, rate, params):
        s = jax.tree.map(lambda gi, si: si + _abs_sq(gi), g, moments[0])
        # s = 0 only where every gradient so far was 0: no step there, and no 0/0.
        d = jax.tree.map(
            lambda gi, si: jnp.where(si > 0, gi * _inverse_root(si, eps, eps_in_sqrt), 0.0), g, s
        )
        return _scale(-rate, d), (s,)

    def init(params):
        return (optax.tree.full_like(params, initial_accumulator_value),)

    return _optimizer(AdagradState, init, step, learning_rate, weight_decay)


@_recorded
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    *,
    eps_in_sqrt: bool = True,
    initial_scale: float = 0.0,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """RMSProp: per-coordinate rates from an EMA of squared gradients.

    With g_t ← g_t + λθ_t, ρ = decay, ν_{−1} = initial_scale, μ_{−1} = 0,

        ν_t = ρ·ν_{t−1} + (1 − ρ)·g_t²
        μ_t = ρ·μ_{t−1} + (1 − ρ)·g_t            (centered only)
        σ²_t = ν_t  or  ν_t − μ_t²               (centered)
        d_t = g_t / √(σ²_t + ε)  or  g_t / (√σ²_t + ε)   (eps_in_sqrt=False)
        u_t = −α_t·d_t

    and, when ``momentum`` = β is set, u_t is then passed through the trace
    m_t = β·m_{t−1} + u_t, u_t ← m_t (or u_t + β·m_t with ``nesterov``).

    Reproduces ``optax.rmsprop`` (same options; optax adds ε inside the root by
    default) and ``torch.optim.RMSprop(lr, alpha, eps, weight_decay, momentum,
    centered)`` with ``decay=alpha`` (PyTorch's default 0.99) and
    ``eps_in_sqrt=False``; PyTorch applies α outside its momentum buffer, which
    is the same trajectory for a constant rate.

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      decay: ρ in [0, 1).
      eps: ε >= 0.
      eps_in_sqrt: add ε inside the square root (optax) or outside (PyTorch).
      initial_scale: ν_{−1} >= 0.
      centered: divide by the running standard deviation instead of the RMS.
      momentum: None (no momentum) or β in [0, 1).
      nesterov: Nesterov form of the momentum trace.
      weight_decay: λ >= 0, coupled.

    Returns:
      An ``optax.GradientTransformation`` with state
      ``RmspropState(count, nu, mu, trace)`` (``mu``, ``trace`` None when unused).

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = rmsprop(0.1, decay=0.9, eps=0.0)
      >>> params = {"w": jnp.array([0.0])}
      >>> updates, _ = opt.update({"w": jnp.array([2.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # −α g / √(0.1 g²) = −0.1·2 / √0.4
      [-0.316]
    """
    decay = _unit("decay", decay)
    eps = _non_negative("eps", eps)
    eps_in_sqrt = _flag("eps_in_sqrt", eps_in_sqrt)
    initial_scale = _non_negative("initial_scale", initial_scale)
    centered = _flag("centered", centered)
    if momentum is not None:
        momentum = _unit("momentum", momentum)
    nesterov = _flag("nesterov", nesterov)

    def init(params):
        zeros = optax.tree.zeros_like(params)
        return (
            optax.tree.full_like(params, initial_scale),
            zeros if centered else None,
            zeros if momentum is not None else None,
        )

    def step(g, moments, count, rate, params):
        nu, mu, trace = moments
        nu = _ema(decay, nu, _square(g))
        if centered:
            mu = _ema(decay, mu, g)
            var = jax.tree.map(lambda n, m: n - _abs_sq(m), nu, mu)
        else:
            var = nu
        d = jax.tree.map(lambda gi, v: gi * _inverse_root(v, eps, eps_in_sqrt), g, var)
        updates = _scale(-rate, d)
        if momentum is not None:
            updates, trace = _trace(updates, trace, momentum, nesterov)
        return updates, (nu, mu, trace)

    return _optimizer(RmspropState, init, step, learning_rate, weight_decay)
