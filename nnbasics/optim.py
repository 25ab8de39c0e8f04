r"""Hand-rolled optimizers as optax ``GradientTransformation``\ s.

Each optimizer maps the gradient g_t of step t (t = 0, 1, ... counts the updates
already made, as in optax) to an update u_t, applied by
``optax.apply_updates``: θ_{t+1} = θ_t + u_t. Its state is a NamedTuple whose
first field ``count`` is the integer t; the other fields are pytrees shaped like
the parameters. ``learning_rate`` is a positive float or a schedule ``t -> α_t``
(``nnbasics.schedules`` or any optax schedule); α_t below is its value at t.

With default options every optimizer has the defaults and the trajectory of its
optax namesake (``momentum`` ↔ ``optax.sgd(lr, momentum=beta, nesterov=...)``).
Keyword options reproduce other libraries exactly (float64, rtol 1e-10; the
tests replay stored PyTorch and scikit-learn trajectories):

  optax.sgd(lr)                        sgd(lr)
  optax.sgd(lr, momentum=b, nesterov)  momentum(lr, beta=b, nesterov=...)
  optax.adagrad/rmsprop/adam/adamw     adagrad/rmsprop/adam/adamw, same arguments
  torch SGD(lr, weight_decay=w)        sgd(lr, weight_decay=w)
  torch SGD(lr, momentum=b,            momentum(lr, beta=b, nesterov=n,
    dampening=d, weight_decay=w,         dampening=d, weight_decay=w)
    nesterov=n)
  torch Adagrad(lr, lr_decay=k,        adagrad(schedules.inverse_time(lr, k),
    weight_decay=w, eps=e,               initial_accumulator_value=a, eps=e,
    initial_accumulator_value=a)         eps_in_sqrt=False, weight_decay=w)
  torch RMSprop(lr, alpha=r, eps=e,    rmsprop(lr, decay=r, eps=e, eps_in_sqrt=False,
    weight_decay=w, momentum=m,          weight_decay=w, momentum=m or None,
    centered=c)                          centered=c)
  torch Adam(lr, (b1, b2), eps, w)     adam(lr, b1, b2, eps, weight_decay=w)
  torch AdamW(lr, (b1, b2), eps, w)    adamw(lr, b1, b2, eps, weight_decay=w)
  sklearn SGDOptimizer(lr, momentum=b, momentum(lr, beta=b, nesterov=n,
    nesterov=n)                          lr_in_velocity=True)
  ... lr_schedule="invscaling",        the same with learning rate
    power_t=p, iteration_ends(t + 1)     schedules.power(lr, p)
  sklearn AdamOptimizer(lr, b1, b2, e) adam(lr, b1, b2, e, fold_bias_correction=True)
  the course's Adam, ε inside the √    adam(lr, b1=γ, b2=β, eps=0, eps_root=ε)

PyTorch's defaults differ from optax's (Adagrad: initial_accumulator_value=0,
eps=1e-10; RMSprop: alpha=0.99; AdamW: weight_decay=1e-2): pass them explicitly.
``weight_decay`` of ``sgd``, ``momentum``, ``adagrad``, ``rmsprop`` and ``adam``
is *coupled* (L2 added to the gradient, g ← g + λθ, as PyTorch does; for SGD it
is the course's θ ← (1 − αλ)θ − α∇); that of ``adamw`` is *decoupled* (added to
the Adam direction), as in optax and PyTorch's AdamW.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from nnbasics import _checks
from nnbasics._optim_recipes import (  # noqa: F401 - nb.optim.Recipe, nb.optim.recipe_of, ...
    PROGRAM_INPUTS,
    Recipe,
    _Method,
    _recorded,
    is_tunable,
    recipe_of,
)

Schedule = Callable[[jnp.ndarray], jnp.ndarray | float]
ScalarOrSchedule = float | Schedule


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


class AdamState(NamedTuple):
    """State of ``adam``, ``adamw`` and ``nadam``: the count and the EMAs of g and |g|².

    Examples:
      >>> import jax.numpy as jnp
      >>> state = adam(0.1).init({"w": jnp.zeros(2)})
      >>> int(state.count), state.mu["w"].tolist(), state.nu["w"].tolist()
      (0, [0.0, 0.0], [0.0, 0.0])
    """

    count: jnp.ndarray
    mu: Any  # EMA of g
    nu: Any  # EMA of |g|²


class AmsgradState(NamedTuple):
    """State of ``amsgrad``: Adam's, plus the running maximum of the second moment.

    Examples:
      >>> import jax.numpy as jnp
      >>> state = amsgrad(0.1).init({"w": jnp.zeros(2)})
      >>> state.nu_max["w"].tolist()
      [0.0, 0.0]
    """

    count: jnp.ndarray
    mu: Any  # EMA of g
    nu: Any  # EMA of |g|²
    nu_max: Any  # running maximum of the (corrected) EMA of |g|²


# ---------------------------------------------------------------- validation


def _as_schedule(learning_rate: ScalarOrSchedule) -> Schedule:
    if callable(learning_rate):
        return learning_rate
    try:
        _checks.real_in("learning_rate", learning_rate, 0.0, math.inf, lo_open=True, hi_open=True)
    except ValueError:
        _checks.fail(
            "learning_rate",
            "a real number in (0, inf) or a schedule (a callable t -> rate)",
            _checks.shown(learning_rate),
        )
    return lambda count: learning_rate


def _unit(name: str, value):
    """A decay rate or beta: [0, 1)."""
    return _checks.real_in(name, value, 0.0, 1.0, hi_open=True)


def _non_negative(name: str, value):
    return _checks.real_in(name, value, 0.0, math.inf, hi_open=True)


def _flag(name: str, value) -> bool:
    return _checks.one_of(name, value, (False, True))


def _is_zero(value) -> bool:
    return isinstance(value, numbers.Number) and value == 0


# ------------------------------------------------------------ shared pieces


def _scale(factor, tree):
    """factor·x for every leaf, with factor cast to the leaf's dtype."""
    return jax.tree.map(lambda x: jnp.asarray(factor, dtype=x.dtype) * x, tree)


def _ema(decay, moment, values):
    """decay·moment + (1 − decay)·values, leaf by leaf."""
    return jax.tree.map(lambda m, v: decay * m + (1 - decay) * v, moment, values)


def _abs_sq(x):
    """|x|² = x·x̄, real for complex x (the second moment of a complex gradient)."""
    return (x.conj() * x).real if jnp.iscomplexobj(x) else jnp.square(x)


def _square(tree):
    return jax.tree.map(_abs_sq, tree)


def _dtype(name: str, value):
    """None (follow the parameters) or a dtype, canonicalized as JAX stores it."""
    if value is None:
        return None
    try:
        return jax.dtypes.canonicalize_dtype(value)
    except TypeError:
        _checks.fail(name, "None or a dtype such as jnp.float32", value)


def _inverse_root(v, eps, eps_in_sqrt: bool):
    """1/√(v + ε) (ε inside the root) or 1/(√v + ε) (ε outside)."""
    return jax.lax.rsqrt(v + eps) if eps_in_sqrt else 1 / (jnp.sqrt(v) + eps)


def _trace(x, trace, beta, nesterov: bool, weight: float | jax.Array = 1.0):
    """m_t = β·m_{t−1} + w_t·x_t; returns (x_t + β·m_t if nesterov else m_t, m_t)."""
    trace = jax.tree.map(lambda xi, m: beta * m + weight * xi, x, trace)
    out = jax.tree.map(lambda xi, m: xi + beta * m, x, trace) if nesterov else trace
    return out, trace


def _bias_correction(decay, k):
    """1 − decay^k, k the number of updates made (this one included)."""
    return 1 - decay**k


def _corrected(tree, decay, k):
    """x / (1 − decay^k), the division in each leaf's own dtype (bfloat16 stays bfloat16)."""
    c = _bias_correction(decay, k)
    return jax.tree.map(lambda x: x / c.astype(x.dtype), tree)


def _cast_like(tree, like):
    """Each leaf of ``tree`` in the dtype of the matching leaf of ``like``."""

    def cast(x, y):
        # Complex into real arises only from real gradients through a complex
        # accumulator, whose imaginary part is then exactly zero; JAX deprecates
        # dropping it implicitly, so it is dropped here explicitly.
        if jnp.iscomplexobj(x) and not jnp.iscomplexobj(y):
            x = jnp.real(x)
        return x.astype(y.dtype)

    return jax.tree.map(cast, tree, like)


def _optimizer(state_type, init_moments, step, learning_rate, weight_decay=0.0):
    """Builds a GradientTransformation from a per-step rule.

    Args:
      state_type: the NamedTuple state, ``count`` first, then the moments.
      init_moments: ``params -> tuple`` of the initial moments.
      step: ``(g, moments, count, rate, params) -> (updates, moments)``, where
        ``rate`` is α_t and ``g`` already includes the coupled weight decay.
      learning_rate: a positive float or a schedule.
      weight_decay: coupled weight decay λ: g ← g + λθ before ``step``.
    """
    rate = _as_schedule(learning_rate)
    weight_decay = _non_negative("weight_decay", weight_decay)

    def init(params):
        return state_type(jnp.zeros([], jnp.int32), *init_moments(params))

    def update(updates, state, params=None, **extra_args):
        del extra_args  # optax's extra-arguments protocol: accepted, not used
        grads = updates
        if not _is_zero(weight_decay):
            if params is None:
                raise ValueError(
                    "params: expected the parameters (weight_decay is set), received None"
                )
            grads = jax.tree.map(lambda g, p: g + weight_decay * p, grads, params)
        moments = tuple(state[1:])
        updates, new = step(grads, moments, state.count, rate(state.count), params)
        # Updates in the gradients' dtype and a state whose dtypes never drift
        # (a bfloat16 moment plus a float32 count-dependent factor would widen).
        return (
            _cast_like(updates, grads),
            state_type(optax.safe_increment(state.count), *_cast_like(new, moments)),
        )

    return optax.GradientTransformationExtraArgs(init, update)


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


def _adam(
    learning_rate,
    b1,
    b2,
    eps,
    eps_root,
    mu_dtype,
    *,
    fold_bias_correction=False,
    coupled=0.0,
    decoupled=0.0,
    nesterov=False,
    amsgrad=False,
    correct_mu=True,
    correct_nu=True,
):
    """The Adam family: adam, adamw, nadam, amsgrad (see their docstrings)."""
    b1 = _unit("b1", b1)
    b2 = _unit("b2", b2)
    eps = _non_negative("eps", eps)
    eps_root = _non_negative("eps_root", eps_root)
    mu_dtype = _dtype("mu_dtype", mu_dtype)
    fold = _flag("fold_bias_correction", fold_bias_correction)
    nesterov = _flag("nesterov", nesterov)
    decoupled = _non_negative("weight_decay", decoupled)
    if fold and (nesterov or amsgrad):
        _checks.fail(
            "fold_bias_correction",
            "False with Nesterov momentum or AMSGrad (scikit-learn's folded form has neither)",
            fold,
        )

    def init(params):
        zeros = optax.tree.zeros_like
        return (zeros(params, dtype=mu_dtype), zeros(params)) + (
            (zeros(params),) if amsgrad else ()
        )

    def step(g, moments, count, rate, params):
        mu = _ema(b1, moments[0], g)
        nu = _ema(b2, moments[1], _square(g))
        k = count + 1
        if fold:
            c1, c2 = _bias_correction(b1, k), _bias_correction(b2, k)
            d = jax.tree.map(
                lambda m, n: (
                    m * (jnp.sqrt(c2) / c1).astype(m.dtype) / (jnp.sqrt(n + eps_root) + eps)
                ),
                mu,
                nu,
            )
        else:
            mu_hat = _corrected(mu, b1, k) if correct_mu else mu
            if nesterov:  # Dozat's look-ahead: the next step's corrected momentum
                mu_hat = jax.tree.map(
                    lambda m, gi: b1 * m + (1 - b1) * gi,
                    _corrected(mu, b1, k + 1),
                    _corrected(g, b1, k),
                )
            nu_hat = _corrected(nu, b2, k) if correct_nu else nu
            if amsgrad:
                nu_hat = jax.tree.map(jnp.maximum, moments[2], nu_hat)
            d = jax.tree.map(lambda m, n: m / (jnp.sqrt(n + eps_root) + eps), mu_hat, nu_hat)
        if not _is_zero(decoupled):
            if params is None:
                raise ValueError("params: expected the parameters (adamw), received None")
            d = jax.tree.map(lambda di, p: di + decoupled * p, d, params)
        return _scale(-rate, d), (mu, nu) + ((nu_hat,) if amsgrad else ())

    return _optimizer(AmsgradState if amsgrad else AdamState, init, step, learning_rate, coupled)


@_recorded
def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    *,
    nesterov: bool = False,
    fold_bias_correction: bool = False,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Adam: bias-corrected EMAs of the gradient and of its square.

    With g_t ← g_t + λθ_t, m_{−1} = v_{−1} = 0 and k = t + 1 (updates made,
    this one included),

        m_t = β1·m_{t−1} + (1 − β1)·g_t
        v_t = β2·v_{t−1} + (1 − β2)·g_t²
        m̂_t = m_t / (1 − β1^k),   v̂_t = v_t / (1 − β2^k)
        u_t = −α_t·m̂_t / (√(v̂_t + ε_root) + ε)

    ``eps`` is outside the root and ``eps_root`` inside, so the course's
    θ ← θ − η·ṽ/√(g̃ + ε) is ``adam(eps=0, eps_root=ε)`` (its γ is b1, its β b2).
    With ``fold_bias_correction=True`` the corrections move into the rate, as
    in scikit-learn's MLP Adam (and Kingma & Ba's "efficient" form), which
    leaves ε un-corrected and so differs when ε matters:

        u_t = −α_t·√(1 − β2^k)/(1 − β1^k) · m_t / (√(v_t + ε_root) + ε)

    Reproduces ``optax.adam`` (defaults), ``torch.optim.Adam(lr, betas, eps,
    weight_decay)`` (``weight_decay``, coupled) and scikit-learn's
    ``AdamOptimizer`` (``fold_bias_correction=True``).

    Args:
      learning_rate: α, a positive float or a schedule t -> α_t.
      b1: β1 in [0, 1).
      b2: β2 in [0, 1).
      eps: ε >= 0, outside the square root.
      eps_root: ε_root >= 0, inside the square root.
      mu_dtype: dtype of m (None: the parameters'), as optax's: float32 moments
        for bfloat16 parameters are the usual mixed-precision setting.
      nesterov: NAdam's look-ahead (see ``nadam``).
      fold_bias_correction: scikit-learn's step-dependent ε (see above).
      weight_decay: λ >= 0, coupled (L2 in the gradient; see ``adamw``).

    Complex parameters use v_t = β2·v_{t−1} + (1 − β2)·|g_t|², as optax does.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = adam(0.1)
      >>> params = {"w": jnp.array([0.0, 0.0])}
      >>> updates, _ = opt.update({"w": jnp.array([3.0, -1e-3])}, opt.init(params), params)
      >>> updates["w"].tolist()  # bias-corrected first step: −α·sign(g), whatever |g|
      [-0.1, 0.1]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        fold_bias_correction=fold_bias_correction,
        coupled=weight_decay,
        nesterov=nesterov,
    )


@_recorded
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    weight_decay: float = 1e-4,
    *,
    nesterov: bool = False,
    fold_bias_correction: bool = False,
) -> optax.GradientTransformation:
    """AdamW: Adam with decoupled weight decay.

    With m̂_t, v̂_t as in ``adam`` (no decay in the gradient),

        u_t = −α_t·(m̂_t / (√(v̂_t + ε_root) + ε) + λ·θ_t)

    Reproduces ``optax.adamw`` (defaults) and ``torch.optim.AdamW(lr, betas,
    eps, weight_decay)`` (PyTorch's θ ← θ(1 − αλ) before its Adam step is the
    same update; its default λ is 1e-2, optax's and ours 1e-4).

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov,
      fold_bias_correction: as in ``adam``.
      weight_decay: λ >= 0, decoupled.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``;
      ``update`` needs ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = adamw(0.1, weight_decay=0.5)
      >>> params = {"w": jnp.array([2.0])}
      >>> updates, _ = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # −α·(1 + λθ) = −0.1·(1 + 0.5·2)
      [-0.2]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        fold_bias_correction=fold_bias_correction,
        decoupled=weight_decay,
        nesterov=nesterov,
    )


@_recorded
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    *,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """NAdam: Adam with Nesterov momentum (Dozat 2016), as ``optax.nadam``.

    With m_t, v_t and k = t + 1 as in ``adam``, the first moment is looked at
    one step ahead:

        m̂_t = β1·m_t / (1 − β1^(k+1)) + (1 − β1)·g_t / (1 − β1^k)
        u_t = −α_t·m̂_t / (√(v_t/(1 − β2^k) + ε_root) + ε)

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay: as in ``adam``.

    Returns:
      An ``optax.GradientTransformation`` with state ``AdamState(count, mu, nu)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = nadam(0.1)
      >>> params = {"w": jnp.array([0.0])}
      >>> updates, state = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> int(state.count), updates["w"].shape
      (1, (1,))
    """
    return _adam(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, coupled=weight_decay, nesterov=True
    )


@_recorded
def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype=None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
    *,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """AMSGrad (Reddi et al. 2018): Adam whose denominator never shrinks, as ``optax.amsgrad``.

    With m_t, v_t and k = t + 1 as in ``adam``,

        v̂_t = v_t / (1 − β2^k)   (bias_correction_nu; else v_t)
        v̂ᵐᵃˣ_t = max(v̂ᵐᵃˣ_{t−1}, v̂_t),  v̂ᵐᵃˣ_{−1} = 0
        u_t = −α_t·m̂_t / (√(v̂ᵐᵃˣ_t + ε_root) + ε)

    with m̂_t = m_t / (1 − β1^k) (bias_correction_mu; else m_t). Both
    corrections off is the paper's original form.

    Args:
      learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay: as in ``adam``.
      bias_correction_mu, bias_correction_nu: correct m and v for their zero start.

    Returns:
      An ``optax.GradientTransformation`` with state ``AmsgradState(count, mu, nu, nu_max)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = amsgrad(0.1)
      >>> params = {"w": jnp.array([0.0])}
      >>> updates, state = opt.update({"w": jnp.array([1.0])}, opt.init(params), params)
      >>> updates["w"].tolist()  # the first step is Adam's
      [-0.1]
    """
    return _adam(
        learning_rate,
        b1,
        b2,
        eps,
        eps_root,
        mu_dtype,
        coupled=weight_decay,
        amsgrad=True,
        correct_mu=_flag("bias_correction_mu", bias_correction_mu),
        correct_nu=_flag("bias_correction_nu", bias_correction_nu),
    )


# The registry lives beside, in its own module; imported last because it names
# the factories above.
from nnbasics._optim_registry import (  # noqa: E402, F401 - nb.optim.REGISTRY, nb.optim.get, ...
    CLOSED_UNIT,
    NON_NEGATIVE,
    POSITIVE,
    REGISTRY,
    UNIT,
    Spec,
    describe,
    get,
    hyperparameters,
    names,
)
